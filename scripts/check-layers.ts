/**
 * Dependency check for src/: fails on an import cycle (type-only imports included: they still
 * couple the modules) and on an import that goes up the layering
 *   errors ← format ← crypto ← keyrings ← cache ← core ← web streams ← envelope ← surfaces ← entries
 * Run: `npm run layers` (prints the problems, exits 1 if any). test/layers.test.ts runs it too.
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, posix, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/**
 * The layer table, first match wins; paths are relative to the project root. `rank`: a module may
 * import modules of a lower rank or of its own layer. `surface`: a module in such a layer may be
 * imported only by the entries and by modules of the same layer. Adjust this table when files move.
 */
export const LAYERS: readonly LayerRule[] = [
  // Typed errors and the argument checks that raise them are the vocabulary of every layer.
  { layer: 'errors', rank: 0, match: ['src/errors.ts', 'src/validate.ts', 'src/printable.ts'] },
  { layer: 'format', rank: 1, match: ['src/format/**'] },
  { layer: 'crypto', rank: 2, match: ['src/crypto/**'] },
  // A keyring that owns a branch-key cache (issue 21): above the cache it uses, below the core.
  { layer: 'keyrings:cached', rank: 4.5, match: ['src/keyrings/hierarchical.ts'] },
  { layer: 'keyrings', rank: 3, match: ['src/keyrings/**'] },
  // The cache keys its entries by keyring, so it sits just above keyrings.
  { layer: 'cache', rank: 4, match: ['src/cache/**'] },
  // The message life cycle: settings, materials, reader, writer, rewrap, inspect.
  { layer: 'core', rank: 5, match: ['src/core/**'] },
  // Web Streams adapters over the core's sessions; the Envelope's stream methods return them.
  { layer: 'surface:stream', rank: 6, match: ['src/stream.ts', 'src/web/**'] },
  // The facade every other surface takes as its argument (FieldEncryptor, Node streams, files, CLI).
  { layer: 'surface:envelope', rank: 7, match: ['src/envelope.ts'] },
  { layer: 'entry', rank: 9, match: ['src/index.ts'] },
  // kms.ts and node/index.ts are entries of their own surface: listed in ENTRIES below.
  { layer: 'surface:node', rank: 8, surface: true, match: ['src/node/**'] },
  { layer: 'surface:fields', rank: 8, surface: true, match: ['src/fields/**'] },
  { layer: 'surface:cli', rank: 8, surface: true, match: ['src/cli/**'] },
  { layer: 'surface:kms', rank: 8, surface: true, match: ['src/kms.ts'] },
  { layer: 'surface:esdk', rank: 8, surface: true, match: ['src/esdk/**'] },
]

/** Package entry points: may import any layer, including every surface. */
export const ENTRIES: readonly string[] = [
  'src/index.ts',
  'src/kms.ts',
  'src/node/index.ts',
  'src/esdk/index.ts',
  // The CLI's `migrate` command: where the bin, a composition root, joins the Node and ESDK surfaces.
  'src/node/cli/migrate-entry.ts',
]

/** Package `imports` (see package.json) and the files they stand for. */
export const ALIASES: Readonly<Record<string, readonly string[]>> = {
  '#crypto-backend': ['src/crypto/node.ts', 'src/crypto/portable.ts'],
  '#worker-pool': ['src/crypto/pool-node.ts', 'src/crypto/pool-none.ts'],
  '#base64': ['src/format/base64-node.ts', 'src/format/base64-portable.ts'],
  '#public-key-kems': ['src/keyrings/kem-lazy.ts', 'src/keyrings/kem-static.ts'],
}

/** One row of {@link LAYERS}. */
export interface LayerRule {
  readonly layer: string
  readonly rank: number
  readonly surface?: boolean
  /** `dir/**` for a folder (any depth) or an exact file path. */
  readonly match: readonly string[]
}

/** One import between two files of src/. */
export interface Edge {
  readonly from: string
  readonly to: string
  readonly typeOnly: boolean
}

/** What {@link checkLayers} found; `problems` is empty on a clean tree. */
export interface LayerReport {
  readonly files: number
  readonly edges: readonly Edge[]
  /** Each cycle as a path `a → b → … → a`. */
  readonly cycles: readonly string[][]
  readonly problems: readonly string[]
}

/** The layer rule for a file, or undefined when the table does not cover it. */
export function layerOf(file: string, layers: readonly LayerRule[] = LAYERS): LayerRule | undefined {
  return layers.find((rule) => rule.match.some((m) => (m.endsWith('/**') ? file.startsWith(m.slice(0, -2)) : file === m)))
}

function listTs(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...listTs(path))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** The src/ files a specifier names, or [] for a package (node:, @noble, …). */
function resolve(root: string, fromFile: string, specifier: string): string[] | undefined {
  const alias = ALIASES[specifier]
  if (alias !== undefined) return [...alias]
  if (!specifier.startsWith('.')) return []
  const base = posix.normalize(posix.join(posix.dirname(fromFile), specifier))
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.d.ts'), `${base}.ts`, `${base}/index.ts`]
  const found = candidates.find((c) => existsSync(join(root, c)) && statSync(join(root, c)).isFile())
  return found === undefined ? undefined : [found]
}

/** Imports of one file: static, `export … from`, dynamic `import()` and `typeof import()`. */
function importsOf(text: string, fileName: string): { specifier: string; typeOnly: boolean }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const out: { specifier: string; typeOnly: boolean }[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)))
      out.push({ specifier: node.moduleSpecifier.text, typeOnly })
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly })
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0]
      if (arg !== undefined && ts.isStringLiteralLike(arg)) out.push({ specifier: arg.text, typeOnly: false })
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ specifier: node.argument.literal.text, typeOnly: true })
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression
      if (ts.isStringLiteral(expr)) out.push({ specifier: expr.text, typeOnly: node.isTypeOnly })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

/** Strongly connected components (Tarjan), each with more than one file or a self-import. */
function cyclicComponents(nodes: readonly string[], next: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0
  const indexOf = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const strong = (v: string): void => {
    indexOf.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v) ?? []) {
      if (!indexOf.has(w)) {
        strong(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!))
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) out.push(component.sort())
    }
  }
  for (const v of nodes) if (!indexOf.has(v)) strong(v)
  return out
}

/** The shortest cycle through `start` inside its component, as a path ending where it began. */
function shortestCycle(start: string, members: ReadonlySet<string>, next: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const parent = new Map<string, string>()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!
    for (const w of next.get(v) ?? []) {
      if (!members.has(w)) continue
      if (w === start) {
        const path = [start]
        for (let at: string | undefined = v; at !== undefined && at !== start; at = parent.get(at)) path.splice(1, 0, at)
        return [...path, start]
      }
      if (!parent.has(w)) {
        parent.set(w, v)
        queue.push(w)
      }
    }
  }
  return undefined
}

/** Same cycle whatever file it is written from: rotate to start at its smallest file. */
function normalise(cycle: readonly string[]): string {
  const ring = cycle.slice(0, -1)
  let best = 0
  for (let i = 1; i < ring.length; i++) if (ring[i]! < ring[best]!) best = i
  const rotated = [...ring.slice(best), ...ring.slice(0, best)]
  return [...rotated, rotated[0]!].join(' → ')
}

/**
 * Builds the import graph of `<root>/src/**\/*.ts` and checks it against {@link LAYERS}.
 *
 * @param root - the project root (the folder holding src/)
 * @param layers - the layer table; defaults to {@link LAYERS}
 * @param entries - files allowed to import any surface; defaults to {@link ENTRIES}
 * @returns the graph's size, every cycle, and one line per problem
 */
export function checkLayers(root: string, layers: readonly LayerRule[] = LAYERS, entries: readonly string[] = ENTRIES): LayerReport {
  const files = listTs(join(root, 'src')).map((f) => relative(root, f).split(sep).join('/'))
  const problems: string[] = []
  const edges: Edge[] = []
  for (const file of files) {
    if (layerOf(file, layers) === undefined) problems.push(`${file}: not in any layer: add it to the layer table (LAYERS in scripts/check-layers.ts)`)
    for (const { specifier, typeOnly } of importsOf(readFileSync(join(root, file), 'utf8'), file)) {
      const targets = resolve(root, file, specifier)
      if (targets === undefined) problems.push(`${file}: import '${specifier}' names no file in src/`)
      else for (const to of targets) edges.push({ from: file, to, typeOnly })
    }
  }

  for (const { from, to, typeOnly } of edges) {
    const a = layerOf(from, layers)
    const b = layerOf(to, layers)
    if (a === undefined || b === undefined || a === b) continue
    const how = typeOnly ? 'imports (type-only)' : 'imports'
    if (b.surface === true && !entries.includes(from)) {
      problems.push(`${from} (${a.layer}) ${how} ${to}: ${b.layer} is a surface; only the entries (${entries.join(', ')}) may import a surface`)
    } else if (b.rank > a.rank && !entries.includes(from)) {
      problems.push(`${from} (${a.layer}) ${how} ${to} (${b.layer}): upward import; move the shared code down to ${a.layer} or lower`)
    }
  }

  const next = new Map<string, string[]>()
  for (const { from, to } of edges) {
    const list = next.get(from) ?? []
    if (!list.includes(to)) list.push(to)
    next.set(from, list)
  }
  const cycles = new Map<string, string[]>()
  for (const component of cyclicComponents(files, next)) {
    const members = new Set(component)
    for (const start of component) {
      const cycle = shortestCycle(start, members, next)
      if (cycle !== undefined) cycles.set(normalise(cycle), normalise(cycle).split(' → '))
    }
  }
  for (const key of [...cycles.keys()].sort()) problems.push(`cycle: ${key}`)
  return { files: files.length, edges, cycles: [...cycles.values()], problems }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // dist/scripts/check-layers.js → the project root is two levels up; the sources are checked, not dist.
  const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const started = performance.now()
  const report = checkLayers(root)
  for (const line of report.problems) console.log(line)
  console.log(
    `${report.files} files, ${report.edges.length} imports, ${report.cycles.length} cycle(s), ${report.problems.length} problem(s) in ${(performance.now() - started).toFixed(0)} ms`,
  )
  process.exit(report.problems.length === 0 ? 0 : 1)
}
