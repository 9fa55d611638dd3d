/**
 * Counts a run's chain of dependent round trips, not its wall time: added to fake registries as a fault, it holds
 * every request until none has arrived for a quiet period, then answers all that it holds at once: one round.
 * A request that arrives while a round is held did not need that round's answers (it was sent before them), so
 * it joins the round; one sent only after some answer comes in a later one. The number of rounds is then the
 * run's critical path in round trips, as a registry far away would make it felt, whatever the wall clock did.
 * The quiet period only has to outlast the client's own work between an answer and the next request (parsing,
 * hashing a small manifest); were it too short a round would split in two, so the count errs long, never short.
 */
import type {FaultSpec} from './fake-registry/index.ts'

export interface SteppedRequest {
  round: number
  /** `METHOD path` with digests shortened, for a readable chain. */
  label: string
  host: string
}

export class Lockstep {
  readonly requests: SteppedRequest[] = []
  private round = 0
  private held: Array<() => void> = []
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor(private readonly quietMs = 40) {}

  /** The fault to add to each registry whose requests count (`registry.addFault(lockstep.fault(registry.host))`). */
  fault(host: string): FaultSpec {
    return {
      name: 'lockstep',
      times: Number.POSITIVE_INFINITY,
      action: async (ctx, next) => {
        const round = await this.hold()
        this.requests.push({round, host, label: `${ctx.method} ${ctx.path.replace(/sha256:([0-9a-f]{8})[0-9a-f]{56}/g, '$1')}`})
        return next()
      },
    }
  }

  /** Rounds so far. */
  get rounds(): number {
    return this.round
  }

  /** The requests of each round, in order: the chain as a reader checks it. */
  chain(): string[][] {
    const rounds: string[][] = Array.from({length: this.round}, () => [])
    for (const r of this.requests) rounds[r.round - 1]!.push(r.label)
    return rounds.map((labels) => labels.sort())
  }

  /** Starts counting afresh (after seeding, or between the phases of a test). */
  reset(): void {
    this.requests.length = 0
    this.round = 0
  }

  private hold(): Promise<number> {
    return new Promise((resolve) => {
      this.held.push(() => resolve(this.round))
      if (this.timer) clearTimeout(this.timer)
      this.timer = setTimeout(() => this.release(), this.quietMs)
    })
  }

  private release(): void {
    this.timer = null
    this.round++
    for (const answer of this.held.splice(0)) answer()
  }
}
