export {}; // a module: its names stay its own

/** The floor's WebSocket in a worker: the page's texts go out, the other page's come in. */
const socket = new WebSocket(`ws://${location.host}/relay`);
socket.onopen = () => self.postMessage({ open: true });
socket.onmessage = ({ data }: MessageEvent<string>) => self.postMessage({ text: data });
self.onmessage = ({ data }: MessageEvent<string>) => socket.send(data);
