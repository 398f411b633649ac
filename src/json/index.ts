/**
 * Canonical JSON and sha256: the one definition behind every hash Tessera compares or stores (policy version
 * hashes, cursor bindings, approval payload hashes, audit record hashes). A leaf: imports nothing but errors.
 */
export { canonicalJson, jsonString, sha256Hex, sortedKeys } from './canonical-json.ts'
