import {describe, expect, test} from 'bun:test'
import {testPace} from '../../test/support/pace.ts'
import {HoldGate} from './hold-gate.ts'

describe('HoldGate', () => {
  test('without a hold nobody waits', async () => {
    const pace = testPace()
    await Promise.all(Array.from({length: 5}, () => new HoldGate(pace).pass()))
    expect(pace.sleeps).toStrictEqual([])
  })

  test('a hold holds every request that comes while it runs, each once, for what is left of it', async () => {
    const pace = testPace()
    const gate = new HoldGate(pace)
    gate.hold(1000)
    await Promise.all(Array.from({length: 5}, () => gate.pass()))
    expect(pace.sleeps).toHaveLength(5)
    // The wall clock moved a little between the hold and each look at it.
    for (const ms of pace.sleeps) expect(ms).toBeWithin(900, 1001)
  })

  test('the request that got the Retry-After waits it once, not again at the gate; a hold added meanwhile, the difference', async () => {
    const pace = testPace({clock: 'paced'})
    const gate = new HoldGate(pace)
    const own = gate.hold(1000)
    await pace.sleep(1000)
    await gate.pass(undefined, own)
    expect(pace.sleeps).toStrictEqual([1000])

    const mine = gate.hold(1000)
    pace.advance(10)
    gate.hold(1000) // another request's 429, 10 ms later
    await pace.sleep(990) // the rest of its own wait
    await gate.pass(undefined, mine)
    expect(pace.sleeps).toStrictEqual([1000, 990, 10])
  })

  test('a hold set while a request waits is waited out too', async () => {
    const pace = testPace({clock: 'paced'})
    const gate = new HoldGate(pace)
    gate.hold(1000)
    const passing = gate.pass()
    // Arrives while the first wait runs; the paced clock moved on by that wait when it began, so it ends 3000 after it.
    gate.hold(3000)
    await passing
    expect(pace.sleeps).toStrictEqual([1000, 3000])
  })

  test('a shorter hold does not cut a longer one short', async () => {
    const pace = testPace({clock: 'paced'})
    const gate = new HoldGate(pace)
    gate.hold(5000)
    gate.hold(1000)
    await gate.pass()
    expect(pace.sleeps).toStrictEqual([5000])
  })

  test('a hold that is over holds nobody', async () => {
    const pace = testPace({clock: 'paced'})
    const gate = new HoldGate(pace)
    gate.hold(1000)
    pace.advance(1000)
    await gate.pass()
    expect(pace.sleeps).toStrictEqual([])
  })

  test('an interrupt ends the wait with its reason', async () => {
    const pace = testPace()
    const gate = new HoldGate(pace)
    gate.hold(1000)
    const controller = new AbortController()
    controller.abort(new Error('interrupted'))
    expect(gate.pass(controller.signal)).rejects.toThrow('interrupted')
  })
})
