/**
 * What every command shares, written once: messages on stderr, SIGINT/SIGTERM turned into an AbortSignal the
 * domain call honours, the progress reporter, the registry flags, and the exit-code rules (a user error is one
 * sentence and exit 1; an interrupted run is 130 whatever it was doing). Subclasses keep the thin shape:
 * parse flags → one domain call → a view → an exit code. Commands load their domain modules and views when they
 * run (dynamic imports), so help and version load only oclif and the command classes (src/commands.ts).
 */
import {Command, Flags} from '@oclif/core'
import {printable} from '../ref/text.ts'
import {Secrets} from '../ref/secrets.ts'
import {appendFile} from 'node:fs/promises'
import {DefinitionError} from '../definition/errors.ts'
import type {GithubActions} from '../views/github.ts'
import type {ProgressReporter} from '../views/progress.ts'
import type {Display} from '../views/screen.ts'
import {displayFor, terminalWidth} from './display.ts'
import {currentIo, type Io} from './io.ts'
import {ExitCode, reportUserError} from './outcome.ts'
import {type RegistryFlagValues, registryOptions} from './registry-flags.ts'

/** Environment variables that hold secrets besides the registry flags' (read by signing). */
const SECRET_ENV = ['SYNCER_SIGNING_KEY_PASSWORD', 'SYNCER_OIDC_TOKEN'] as const

export abstract class SyncerCommand extends Command {
  /**
   * Every command: `--json`, oclif's usual spelling of `--format json`, and `--no-color`. Colour only ever comes
   * from oclif (help headings, its own errors); `NO_COLOR` and `--no-color` both turn it off (src/cli.ts).
   */
  static override baseFlags = {
    json: Flags.boolean({description: 'Format output as json (the same as --format json).', helpGroup: 'GLOBAL'}),
    'no-color': Flags.boolean({description: 'No colour in any output (also NO_COLOR=1).', helpGroup: 'GLOBAL'}),
  }

  /**
   * The secrets this run learns (flags, docker config, key files, tokens obtained), filled by the transport:
   * everything the command writes to stdout, stderr and the step summary goes through its mask.
   */
  protected readonly secrets = new Secrets()
  /** The streams this run writes to (./io.ts): the process's, unless src/main.ts was given others. */
  private readonly io: Io = currentIo()
  private readonly interruption = new AbortController()
  private progressReporter: ProgressReporter | null = null

  /** Aborted on SIGINT/SIGTERM: in-flight requests stop, nothing half-copied is tagged. */
  protected get signal(): AbortSignal {
    return this.interruption.signal
  }

  /** The command's work: parse, one domain call, a view; returns the exit code. */
  protected abstract execute(): Promise<ExitCode>

  override async run(): Promise<ExitCode> {
    this.github = (await import('../views/github.ts')).githubActionsFrom(process.env)
    const onSignal = () => this.interruption.abort(new Error('interrupted'))
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    try {
      const code = await this.execute()
      return this.signal.aborted ? this.interrupted() : code
    } catch (err) {
      // An aborted request surfaces as whatever error it hit; the interrupt is the real story.
      if (this.signal.aborted) return this.interrupted()
      this.progressReporter?.stop()
      if (err instanceof DefinitionError) this.annotate((await import('../views/github.ts')).problemAnnotations(err.problems))
      // An error this does not tell (a bug) is printed by the entry point, which knows no secrets.
      if (err instanceof Error) {
        err.message = this.secrets.mask(err.message)
        if (err.stack) err.stack = this.secrets.mask(err.stack)
      }
      return reportUserError(err, (text) => this.stderr(text))
    } finally {
      this.progressReporter?.stop()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }

  /** The command's result on stdout, masked. */
  protected stdout(text: string): void {
    this.io.stdout(this.secrets.mask(text))
  }

  /** A message line on stderr; stdout carries only results, so it can be piped. */
  protected stderr(text: string): void {
    this.io.stderr(this.secrets.mask(text.endsWith('\n') ? text : `${text}\n`))
  }

  /** A warning on stderr; its text may quote a registry (a tag rule's repository), so it is made printable. */
  protected warning(text: string): void {
    this.stderr(`Warning: ${printable(text)}`)
  }

  /** Progress on stderr (a redrawn line on a terminal, periodic lines otherwise, nothing when quiet); stopped when the command ends. */
  protected async progress(quiet: boolean): Promise<ProgressReporter> {
    const {createProgressReporter, progressModeFor} = await import('../views/progress.ts')
    this.progressReporter ??= createProgressReporter({
      mode: progressModeFor({quiet, isTTY: this.io.stderrIsTTY}),
      write: (t) => this.io.stderr(this.secrets.mask(t)),
      width: terminalWidth(process.env, this.io.columns),
    })
    return this.progressReporter
  }

  /** How the human output is drawn: to the terminal's width when stdout is one, the stable lines otherwise (./display.ts). */
  protected display(showPresent = false): Display {
    return displayFor(this.io, process.env, showPresent)
  }

  /** Connection options from the shared registry flags, with --debug's request log on stderr. */
  protected registry(flags: RegistryFlagValues): ReturnType<typeof registryOptions> {
    // Signing reads these from the environment (apply, sync and sign): secrets of the run as much as a password.
    for (const name of SECRET_ENV) if (process.env[name]) this.secrets.add(process.env[name])
    return {...registryOptions(flags, process.env, (line) => this.stderr(line)), secrets: this.secrets}
  }

  /** The output format: --json wins over --format. */
  protected format<F extends string>(flags: {format: F; json?: boolean}): F | 'json' {
    return flags.json ? 'json' : flags.format
  }

  /** GitHub Actions output, when running in a workflow (GITHUB_ACTIONS=true); set when run() starts. */
  protected github: GithubActions = null

  /** Workflow-command annotations, on stderr (the runner reads both streams; stdout stays the result). */
  protected annotate(lines: string): void {
    if (this.github && lines) this.io.stderr(this.secrets.mask(lines))
  }

  /** Appends Markdown to the job's step summary, when there is one, within GitHub's size limit. */
  protected async stepSummary(markdown: string): Promise<void> {
    if (!this.github?.stepSummary) return
    const {boundedSummary} = await import('../views/github.ts')
    await appendFile(this.github.stepSummary, boundedSummary(this.secrets.mask(markdown)))
  }

  private interrupted(): ExitCode {
    this.progressReporter?.stop()
    this.stderr('Interrupted before finishing (nothing half-copied is ever tagged); run the command again to finish.')
    return ExitCode.Interrupted
  }
}
