/**
 * Lazy, memoized imports of the optional AWS SDK peer dependencies (`@aws-sdk/client-kms`,
 * `@aws-sdk/client-dynamodb`). Lazy and dynamic because a static import of a missing package
 * fails the whole entry at link time with no typed error, and top-level await would make the
 * entry refuse `require()` (ERR_REQUIRE_ASYNC_MODULE). Each caller passes its own import with a
 * literal specifier, so bundlers still see the dependency.
 * @module
 */

/**
 * @internal A loader that runs `load` once and shares its promise. A failure is not memoized
 * (the next call imports again); only the package itself missing becomes `missing(cause)`: a
 * broken install (one of its own dependencies missing) keeps its own error.
 * @param pkg - The package name, as it appears in Node's "Cannot find package" message.
 * @param load - `() => import('<pkg>')`, with a literal specifier.
 * @param missing - The typed error for the package not being installed.
 */
export function lazySdk<T>(pkg: string, load: () => Promise<T>, missing: (cause: unknown) => Error): () => Promise<T> {
  let loaded: Promise<T> | undefined
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined
      const e = error as { code?: unknown; message?: unknown }
      if (e?.code === 'ERR_MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(`'${pkg}'`)) throw missing(error)
      throw error
    })
    return loaded
  }
}
