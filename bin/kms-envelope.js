#!/usr/bin/env node
// '#cli' (package.json imports): the Node build under the node condition, else dist/src.
import { run } from '#cli'

await run(process.argv.slice(2))
