/**
 * The body's editor: CodeMirror and its languages, a third of the app's script. Loaded when a
 * note opens, and once the list is ready, so a returning user's list does not wait for it.
 */
export const loadBodyEditor = () => import("./body-editor");
