/**
 * The least CPU a client spends on a run's requests: a list of them (`METHOD URL` per line, as a `--debug` log
 * names them) sent again with bare fetch, `--requests-per-registry`'s default at once per host, every body read
 * whole, nothing parsed, verified or logged. A benchmark divides our CPU by this process's CPU (its rusage,
 * startup included, like the CLI's):
 *
 *   bun test/bench/fetch-floor.ts REQUESTS-FILE   →   {"requests": …, "failed": …}
 */
import {readFileSync} from 'node:fs'
import {MANIFEST_ACCEPT} from '../../src/oci/media-types.ts'
import {DEFAULT_MAX_CONCURRENT_PER_HOST} from '../../src/transport/transport.ts'

const requests = readFileSync(process.argv[2]!, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [method, url] = line.split(' ') as [string, string]
    return {method, url}
  })
const byHost = Map.groupBy(requests, (r) => new URL(r.url).host)
let failed = 0
await Promise.all(
  [...byHost.values()].map(async (list) => {
    let next = 0
    await Promise.all(
      Array.from({length: DEFAULT_MAX_CONCURRENT_PER_HOST}, async () => {
        while (next < list.length) {
          const {method, url} = list[next++]!
          const response = await fetch(url, {method, headers: /\/manifests\//.test(url) ? {accept: MANIFEST_ACCEPT} : {}})
          await response.arrayBuffer()
          if (response.status >= 500) failed++
        }
      }),
    )
  }),
)
console.log(JSON.stringify({requests: requests.length, failed}))
