// The public face of the sync engine for other frontends.
export { NetworkError, PROTOCOL_VERSION, SyncEngine, SyncError, newId } from "./engine.js";
export { allowedMoves, isOpen, needsNote } from "./lifecycle.js";
