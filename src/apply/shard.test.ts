import {describe, expect, test} from 'bun:test'
import {assignRepositories, parseShard, shardEntries, shardFromEnv, targetRepository} from './shard.ts'

type Entry = {target: string; action: 'to-copy' | 'already-present' | 'conflicting-ID'}

/** `repos` repositories with 1…7 tags each (uneven on purpose), every third entry already present. */
function entries(repos: number): Entry[] {
  return Array.from({length: repos}, (_, r) =>
    Array.from({length: ((r * 5) % 7) + 1}, (_, t) => ({
      target: `registry.example/mirror/r${r}:${t}`,
      action: (r + t) % 3 === 0 ? ('already-present' as const) : ('to-copy' as const),
    })),
  ).flat()
}

describe('parseShard', () => {
  test('i/K counted from 1', () => {
    expect(parseShard('1/4')).toEqual({index: 1, count: 4})
    expect(parseShard('4/4')).toEqual({index: 4, count: 4})
  })
  test.each(['3/2', '0/0', '0/4', 'junk', '1/', '1/4/2', '-1/4', '1/1001'])('%p is refused in one sentence', (text) => {
    expect(() => parseShard(text)).toThrow(/^--shard .*(counted from 1|must be 1 to 1000)/)
  })
})

describe('shardFromEnv', () => {
  test('JOB_COMPLETION_INDEX counts from 0', () => {
    expect(shardFromEnv({JOB_COMPLETION_INDEX: '0'}, 3)).toEqual({index: 1, count: 3})
    expect(shardFromEnv({JOB_COMPLETION_INDEX: '2'}, 3)).toEqual({index: 3, count: 3})
  })
  test.each([undefined, '3', 'x', ''])('JOB_COMPLETION_INDEX=%p with 3 shards is refused', (value) => {
    expect(() => shardFromEnv({JOB_COMPLETION_INDEX: value}, 3)).toThrow(/JOB_COMPLETION_INDEX/)
  })
})

describe('shardEntries', () => {
  const all = entries(41)

  test('every entry in exactly one shard, all of a repository in the same one', () => {
    const shards = [1, 2, 3, 4].map((index) => shardEntries(all, {index, count: 4}))
    expect(
      shards
        .flat()
        .map((e) => e.target)
        .sort(),
    ).toEqual(all.map((e) => e.target).sort())
    const owner = new Map<string, number>()
    shards.forEach((shard, i) => {
      for (const e of shard) {
        expect(owner.get(targetRepository(e)) ?? i).toBe(i)
        owner.set(targetRepository(e), i)
      }
    })
  })

  test('the same split for the same plan, whatever the entry order', () => {
    const reversed = [...all].reverse()
    expect(assignRepositories(reversed, 4)).toEqual(assignRepositories(all, 4))
    expect(shardEntries(all, {index: 2, count: 4})).toEqual(shardEntries(all, {index: 2, count: 4}))
  })

  test('balanced: the to-copy counts differ by at most the heaviest repository', () => {
    const loads = [1, 2, 3, 4].map((index) => shardEntries(all, {index, count: 4}).filter((e) => e.action === 'to-copy').length)
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(7)
    const even = Array.from({length: 40}, (_, r) => Array.from({length: 5}, (_, t) => ({target: `h.example/m/r${r}:${t}`, action: 'to-copy' as const}))).flat()
    expect([1, 2, 3, 4].map((index) => shardEntries(even, {index, count: 4}).length)).toEqual([50, 50, 50, 50])
  })

  test('ties go by name, and more shards than repositories leaves some empty', () => {
    const two = [
      {target: 'h.example/m/b:1', action: 'to-copy' as const},
      {target: 'h.example/m/a:1', action: 'to-copy' as const},
    ]
    expect([...assignRepositories(two, 3)]).toEqual([
      ['h.example/m/a', 1],
      ['h.example/m/b', 2],
    ])
    expect(shardEntries(two, {index: 3, count: 3})).toEqual([])
  })
})

describe('balanced by the bytes the plan records', () => {
  type Sized = Entry & {bytes?: number; platforms?: string[]}
  const MB = 1024 * 1024
  const copy = (target: string, extra: Partial<Sized> = {}): Sized => ({target: `h.example/m/${target}`, action: 'to-copy', ...extra})
  const split = (all: Sized[], count: number) =>
    Object.fromEntries([...assignRepositories(all, count)].map(([repo, shard]) => [repo.slice('h.example/m/'.length), shard]))

  test('one huge image outweighs many small ones: bytes decide, not the number of entries', () => {
    const small = ['a', 'b', 'c', 'd'].flatMap((repo) => [1, 2, 3].map((t) => copy(`${repo}:${t}`, {bytes: 100 * MB})))
    const all = [...small, copy('huge:1', {bytes: 10_000 * MB})]
    expect(split(all, 2)).toEqual({huge: 1, a: 2, b: 2, c: 2, d: 2})
    // Counted, the same repositories split 3+3+1 against 3+3.
    expect(
      split(
        all.map(({bytes: _, ...e}) => e),
        2,
      ),
    ).toEqual({a: 1, b: 2, c: 1, d: 2, huge: 1})
  })

  test('an entry without bytes weighs the mean of the known ones, times its platforms', () => {
    const all: Sized[] = [
      copy('s:1', {bytes: 100}),
      copy('s:2', {bytes: 100}),
      copy('s:3', {bytes: 100}),
      // An index of four platforms: 4 × 100, the heaviest repository, though it has one entry.
      copy('idx:1', {platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x']}),
      // A platform picked out of an index, and an index whose children name no platform: one image each.
      copy('t:1', {platforms: ['linux/amd64']}),
      copy('t:2', {platforms: []}),
      // Already there: neither weighs nor counts in the mean.
      {target: 'h.example/m/t:3', action: 'already-present', bytes: 1_000_000},
    ]
    expect(split(all, 2)).toEqual({idx: 1, s: 2, t: 2})
    expect(split(all, 3)).toEqual({idx: 1, s: 2, t: 3})
  })

  test('a plan that records no bytes is counted as before: platforms do not weigh', () => {
    const all = entries(41)
    const withPlatforms = all.map((e, i) => ({...e, platforms: Array.from({length: i % 4}, (_, p) => `linux/p${p}`)}))
    expect(assignRepositories(withPlatforms, 4)).toEqual(assignRepositories(all, 4))
    expect(split([copy('a:1'), copy('a:2'), copy('b:1', {platforms: ['linux/amd64', 'linux/arm64', 'linux/386']})], 2)).toEqual({a: 1, b: 2})
  })

  test('the same split whatever the entry order, with estimates', () => {
    const all: Sized[] = entries(41).map((e, i) =>
      i % 3 === 0 ? {...e, bytes: (i * 7919) % 100_003} : {...e, platforms: Array.from({length: i % 5}, (_, p) => `linux/p${p}`)},
    )
    expect(assignRepositories([...all].reverse(), 4)).toEqual(assignRepositories(all, 4))
  })
})
