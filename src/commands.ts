/** The explicit command registry: oclif loads commands from here, so they work inside the compiled binary. */
import {commands as helpCommands} from '@oclif/plugin-help'
import Plan from './commands/plan.ts'

export const COMMANDS = {plan: Plan, ...helpCommands}
