export { SocketPair, type PairEnd } from "./socket-pair.js";
export { FakeClock } from "./fake-clock.js";
export { seededRandom, seedFromEnv, type SeededRandom } from "./seeded-random.js";
