/**
 * API reports (api-extractor) for the package entries, checked in under api/.
 *   node dist/scripts/api-report.js           check: fails when the built .d.ts differ from api/*.api.md
 *   node dist/scripts/api-report.js --local   rewrite api/*.api.md from the built .d.ts (`npm run api`)
 * One in-memory config per entry instead of one api-extractor.json per entry files: they differ only in the entry.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IConfigFile } from '@microsoft/api-extractor'
import { CompilerState, Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor'

/** Each package entry: its built declaration (relative to the dist folder) and report name. */
export const API_ENTRIES: readonly { readonly dts: string; readonly report: string }[] = [
  { dts: 'src/index.d.ts', report: 'kms-envelope' },
  { dts: 'src/kms.d.ts', report: 'kms' },
  { dts: 'src/node/index.d.ts', report: 'node' },
  { dts: 'src/esdk/index.d.ts', report: 'esdk' },
]

/** Outcome of one entry. */
export interface ApiReportResult {
  readonly report: string
  readonly succeeded: boolean
  /** The public surface differs from the checked-in report. */
  readonly changed: boolean
  readonly errors: readonly string[]
}

/**
 * Runs api-extractor on every entry.
 *
 * @param root - the project root (package.json, api/)
 * @param options - `distRoot`: the built output to read (default `<root>/dist`);
 *   `local`: rewrite the reports instead of checking them
 * @returns one result per entry of {@link API_ENTRIES}
 */
export function runApiReports(root: string, options: { readonly distRoot?: string; readonly local?: boolean } = {}): ApiReportResult[] {
  const distRoot = options.distRoot ?? join(root, 'dist')
  // In check mode the would-be report goes to a temp folder, never into the tree.
  mkdirSync(join(root, '.tmp'), { recursive: true })
  const temp = mkdtempSync(join(root, '.tmp', 'api-report-'))
  // One TypeScript program for all the entries: building it is most of the time.
  let compilerState: CompilerState | undefined
  try {
    return API_ENTRIES.map(({ dts, report }) => {
      const configObject: IConfigFile = {
        // Paths in the reports' warning lists are relative to this: the same for dist/ and a copy of it.
        projectFolder: distRoot,
        mainEntryPointFilePath: join(distRoot, dts),
        bundledPackages: [],
        compiler: {
          overrideTsconfig: {
            compilerOptions: {
              target: 'ES2022',
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              lib: ['ES2024', 'DOM'],
              types: ['node'],
              skipLibCheck: true,
              strict: true,
            },
            files: API_ENTRIES.map((e) => join(distRoot, e.dts)),
          },
        },
        apiReport: { enabled: true, reportFileName: report, reportFolder: join(root, 'api'), reportTempFolder: temp },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
          extractorMessageReporting: {
            default: { logLevel: ExtractorLogLevel.Warning, addToApiReportFile: true },
            // The package has no @public/@beta release stages: every exported item is public.
            'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
            // Doc coverage is typedoc's check (`npm run docs`); here it would list file:line
            // locations, which would make the report depend on where dist/ is.
            'ae-undocumented': { logLevel: ExtractorLogLevel.None },
          },
          tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        },
      }
      const config = ExtractorConfig.prepare({ configObject, configObjectFullPath: undefined, packageJsonFullPath: join(root, 'package.json') })
      compilerState ??= CompilerState.create(config, { additionalEntryPoints: API_ENTRIES.map((e) => join(distRoot, e.dts)) })
      const errors: string[] = []
      const result = Extractor.invoke(config, {
        localBuild: options.local === true,
        compilerState,
        messageCallback: (message) => {
          if (message.logLevel === ExtractorLogLevel.Error) errors.push(message.formatMessageWithLocation(root))
          // Warnings are written into the report itself; keep the console quiet.
          if (message.logLevel !== ExtractorLogLevel.Error) message.handled = true
        },
      })
      return { report: `api/${report}.api.md`, succeeded: result.succeeded, changed: result.apiReportChanged, errors }
    })
  } finally {
    rmSync(temp, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const local = process.argv.includes('--local')
  const started = performance.now()
  const results = runApiReports(root, { local })
  for (const r of results) {
    const state = r.changed ? (local ? 'updated' : 'CHANGED: the public API differs from the report; run `npm run api` and commit it') : 'unchanged'
    console.log(`${r.report}: ${state}${r.errors.length > 0 ? `\n  ${r.errors.join('\n  ')}` : ''}`)
  }
  console.log(`api reports in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  process.exit(results.every((r) => r.succeeded) ? 0 : 1)
}
