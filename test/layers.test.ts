import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { checkLayers } from '../scripts/check-layers.js'

// dist/test/layers.test.js → the project root, whose src/ (not dist) is checked.
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** A throwaway project with the given src/ files; removed after `fn`. */
function withTree(files: Record<string, string>, fn: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'kmse-layers-'))
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true })
      writeFileSync(join(root, path), text)
    }
    fn(root)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

const clean: Record<string, string> = {
  'src/errors.ts': 'export class E extends Error {}\n',
  'src/format/header.ts': "import { E } from '../errors.js'\nexport const h = E\n",
  'src/crypto/backend.ts': "import type { h } from '../format/header.js'\nexport type B = typeof h\n",
  'src/crypto/node.ts': 'export const backend = 1\n',
  'src/crypto/portable.ts': 'export const backend = 2\n',
  'src/core/reader.ts': "import { backend } from '#crypto-backend'\nimport { h } from '../format/header.js'\nexport const r = [backend, h]\n",
  'src/envelope.ts': "import { r } from './core/reader.js'\nexport const env = r\n",
  'src/fields/record.ts': "import { r } from '../core/reader.js'\nimport { k } from './keys.js'\nexport const rec = [r, k]\n",
  'src/fields/keys.ts': 'export const k = 1\n',
  'src/index.ts': "export { env } from './envelope.js'\nexport { rec } from './fields/record.js'\nexport const lazy = () => import('./fields/record.js')\n",
}

describe('layer check (scripts/check-layers.ts)', () => {
  it('passes a tree that follows the layering', () => {
    withTree(clean, (root) => {
      const report = checkLayers(root)
      assert.deepEqual(report.problems, [])
      assert.equal(report.files, 10)
      // #crypto-backend resolves to both backends; export-from and import() are edges too.
      assert.ok(report.edges.some((e) => e.from === 'src/core/reader.ts' && e.to === 'src/crypto/portable.ts'))
      assert.ok(report.edges.some((e) => e.from === 'src/index.ts' && e.to === 'src/envelope.ts'))
      assert.equal(report.edges.filter((e) => e.from === 'src/index.ts' && e.to === 'src/fields/record.ts').length, 2)
    })
  })

  it('reports a cycle as a path, type-only imports included', () => {
    withTree(
      {
        ...clean,
        'src/format/a.ts': "import type { B } from './b.js'\nexport type A = B\n",
        'src/format/b.ts': "import type { C } from './c.js'\nexport type B = C\n",
        'src/format/c.ts': "export type C = typeof import('./a.js')\n",
      },
      (root) => {
        const report = checkLayers(root)
        assert.deepEqual(report.cycles, [['src/format/a.ts', 'src/format/b.ts', 'src/format/c.ts', 'src/format/a.ts']])
        assert.deepEqual(report.problems, ['cycle: src/format/a.ts → src/format/b.ts → src/format/c.ts → src/format/a.ts'])
      },
    )
  })

  it('reports an upward import, a surface imported by another surface, and a file outside the table', () => {
    withTree(
      {
        ...clean,
        'src/format/header.ts': "import { r } from '../core/reader.js'\nexport const h = r\n",
        'src/fields/record.ts': "import { env } from '../envelope.js'\nimport { f } from '../node/files.js'\nexport const rec = [env, f]\n",
        'src/node/files.ts': 'export const f = 1\n',
        'src/envelope.ts': "import { rec } from './fields/record.js'\nexport const env = rec\n",
        'src/stray.ts': 'export const s = 1\n',
      },
      (root) => {
        const { problems } = checkLayers(root)
        assert.ok(
          problems.some((p) => p.startsWith('src/format/header.ts (format) imports src/core/reader.ts (core): upward import')),
          problems.join('\n'),
        )
        assert.ok(
          problems.some((p) => p.startsWith('src/fields/record.ts (surface:fields) imports src/node/files.ts: surface:node is a surface')),
          problems.join('\n'),
        )
        // The Envelope facade sits below the surfaces built on it: it may not import one.
        assert.ok(
          problems.some((p) => p.startsWith('src/envelope.ts (surface:envelope) imports src/fields/record.ts: surface:fields is a surface')),
          problems.join('\n'),
        )
        assert.ok(problems.includes('src/stray.ts: not in any layer: add it to the layer table (LAYERS in scripts/check-layers.ts)'), problems.join('\n'))
        // format → core → format is also a cycle.
        assert.ok(
          problems.some((p) => p.startsWith('cycle: src/core/reader.ts → src/format/header.ts → src/core/reader.ts')),
          problems.join('\n'),
        )
      },
    )
  })

  it('reports an import naming no file', () => {
    withTree({ ...clean, 'src/fields/keys.ts': "export { gone } from './gone.js'\n" }, (root) => {
      assert.deepEqual(checkLayers(root).problems, ["src/fields/keys.ts: import './gone.js' names no file in src/"])
    })
  })

  it('the real src/ tree has no cycle and no upward import', () => {
    const report = checkLayers(projectRoot)
    assert.deepEqual(report.problems, [], `\n${report.problems.join('\n')}`)
  })
})
