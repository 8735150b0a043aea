/**
 * `#public-key-kems` under the `node` condition: @noble/curves and @noble/post-quantum are
 * loaded on first use, not when the package is imported (they are about half of a cold
 * import, and a program that never touches a public-key keyring never needs them). So is
 * @scure/base's bech32 for age key strings: on Node nothing else in the core needs @scure/base
 * (base64 is native there), and it measured 4-5 ms of a cold import.
 *
 * A wrap or unwrap is async and loads them with `import()` (memoised). A constructor is sync
 * (deriving an identity's public key), so if nothing loaded them yet it loads them with
 * `require()`, which loads ES modules synchronously on the Node versions the package supports
 * (>= 20.19); `require` is reached through `process.getBuiltinModule`, never imported, so this
 * file has no `node:` import.
 * @module
 */
import type * as Curves from '@noble/curves/ed25519.js'
import type * as PostQuantum from '@noble/post-quantum/hybrid.js'
import type * as ScureBase from '@scure/base'
import { UnsupportedError } from '../errors.js'
import type { Bech32, X25519Kem, XWingKem } from './kem-static.js'

export type { Bech32, X25519Kem, XWingKem } from './kem-static.js'

type Require = (id: string) => unknown

function requireSync<T>(id: string): T {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  const nodeModule = p?.getBuiltinModule?.('node:module') as { createRequire?: (from: string) => Require } | undefined
  if (nodeModule?.createRequire === undefined) {
    throw new UnsupportedError(
      `this runtime resolves the node condition but has no process.getBuiltinModule, so ${id} cannot be loaded synchronously: use Node >= 20.19, or the portable build (no node condition)`,
    )
  }
  return nodeModule.createRequire(import.meta.url)(id) as T
}

/** A module part loaded once, by whichever comes first: `import()` for async callers, `require()` for sync ones. */
function loadOnce<T>(importIt: () => Promise<T>, requireIt: () => T): { sync(): T; load(): Promise<T> } {
  let value: T | undefined
  let loading: Promise<T> | undefined
  return {
    sync() {
      value ??= requireIt()
      return value
    },
    load() {
      if (value !== undefined) return Promise.resolve(value)
      loading ??= importIt().then((v) => {
        value ??= v
        return value
      })
      return loading
    },
  }
}

const x25519 = loadOnce<X25519Kem>(
  () => import('@noble/curves/ed25519.js').then((m) => m.x25519),
  () => requireSync<typeof Curves>('@noble/curves/ed25519.js').x25519,
)
const xwing = loadOnce<XWingKem>(
  () => import('@noble/post-quantum/hybrid.js').then((m) => m.ml_kem768_x25519),
  () => requireSync<typeof PostQuantum>('@noble/post-quantum/hybrid.js').ml_kem768_x25519,
)

/** X25519, for a synchronous caller (a constructor deriving a public key). */
export const x25519Sync = x25519.sync
/** X25519, for an asynchronous caller (a wrap or unwrap). */
export const loadX25519 = x25519.load
/** X-Wing, for a synchronous caller. */
export const xwingSync = xwing.sync
/** X-Wing, for an asynchronous caller. */
export const loadXWing = xwing.load

let bech32: Bech32 | undefined
/** bech32, for age key strings (always used synchronously: key strings are parsed in constructors). */
export function bech32Sync(): Bech32 {
  bech32 ??= requireSync<typeof ScureBase>('@scure/base').bech32
  return bech32
}
