/**
 * The explicit command registry: oclif loads commands from here, so they work inside the compiled binary. oclif
 * reads every class's static metadata at start-up (help, version, any command), so command files import only
 * oclif and light modules statically; each loads its domain modules and views when it runs
 * (test/architecture.test.ts holds sigstore and the stores out of this module's static imports).
 */
import Apply from './commands/apply.ts'
import Help from './commands/help.ts'
import Plan from './commands/plan.ts'
import Report from './commands/report.ts'
import Schema from './commands/schema.ts'
import Show from './commands/show.ts'
import Sign from './commands/sign.ts'
import Sync from './commands/sync.ts'
import Verify from './commands/verify.ts'
import VerifyBlob from './commands/verify-blob.ts'

export const COMMANDS = {
  plan: Plan,
  apply: Apply,
  report: Report,
  show: Show,
  sync: Sync,
  verify: Verify,
  'verify-blob': VerifyBlob,
  sign: Sign,
  schema: Schema,
  help: Help,
}
