/**
 * A separate process that writes tags into one layout, for the concurrency test: `bun layout-tagger.ts DIR
 * PREFIX COUNT START_AT_MS`. It waits until START_AT_MS so that two of them really overlap, then stores COUNT
 * small images tagged PREFIX-0 … PREFIX-(COUNT-1), and prints "done N".
 */
import {openLayout} from '../../src/registry/layout/open.ts'
import {makeImage} from './images.ts'
import {storeImage} from './layout.ts'
import {realPace} from '../../src/commands/pace.ts'

const [dir, prefix, count, startAt] = process.argv.slice(2)
if (!dir || !prefix || !count || !startAt) {
  console.error('usage: layout-tagger.ts DIR PREFIX COUNT START_AT_MS')
  process.exit(2)
}
// Real pauses on the real clock: the other writer is another process, holding the lock for real time.
const layout = await openLayout(dir, {create: true, pace: realPace()})
await Bun.sleep(Math.max(0, Number(startAt) - Date.now()))
let tagged = 0
for (let i = 0; i < Number(count); i++) {
  const outcome = await storeImage(layout, makeImage({flavor: 'oci', layers: 1, layerSize: 64, seed: `${prefix}-${i}`}), `${prefix}-${i}`)
  if (outcome.kind !== 'tagged') throw new Error(`${prefix}-${i}: ${JSON.stringify(outcome)}`)
  tagged++
}
console.log(`done ${tagged}`)
