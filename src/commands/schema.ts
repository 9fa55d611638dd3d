/** `image-syncer schema`: print the definition file's JSON Schema → stdout → exit code. */
import {SyncerCommand} from './base.ts'
import {ExitCode} from './outcome.ts'

export default class Schema extends SyncerCommand {
  static override summary = 'Print the JSON Schema of the definition file, for editors.'
  static override description = `Save it next to your definition and point the editor at it, e.g. with a first line
# yaml-language-server: $schema=./image-syncer.schema.json
The schema checks keys and types; plan checks the rest (references, ranges, duplicate targets).`

  static override examples = ['<%= config.bin %> schema > image-syncer.schema.json']

  protected async execute(): Promise<ExitCode> {
    await this.parse(Schema)
    // Loaded when the command runs, not for help or a version (see src/commands.ts).
    const {definitionJsonSchema} = await import('../definition/schema.ts')
    this.stdout(`${JSON.stringify(definitionJsonSchema(), null, 2)}\n`)
    return ExitCode.Ok
  }
}
