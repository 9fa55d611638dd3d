/**
 * Writing the files people review or hand on (a plan file, a shard's result file): atomically, through a
 * temporary file renamed into place, so an interrupted write never leaves half a file for the next command.
 */
import {mkdir, rename, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, text)
  await rename(temporary, path)
}
