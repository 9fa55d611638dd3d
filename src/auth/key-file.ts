/**
 * The seed tool's `--target-repo-auth-key`: a JSON service-account key file used as a password.
 *
 * Google Artifact Registry and GCR accept Basic auth with the username `_json_key` and the key
 * file's contents as the password; the registry parses the JSON, so we pass it through unchanged
 * except for the trailing newline editors add.
 */
import {FileReadError, readUserFile} from '../files/read.ts'
import {AuthError, type Credential} from './credential.ts'

/** The username Google registries expect in front of a JSON key. */
const JSON_KEY_USERNAME = '_json_key'

/** A service-account key is about 2.3 KiB; 64 KiB is plenty and refuses a wrong file (or /dev/zero) at once. */
const MAX_KEY_FILE_BYTES = 64 * 1024

/**
 * Reads a JSON key file into a Basic credential.
 *
 * Only one trailing newline (`\n` or `\r\n`) is removed. The file must hold a JSON object;
 * if it does not, the error says so in one sentence and never quotes the content, because a
 * half-valid key file is still a secret.
 */
export async function jsonKeyCredential(path: string): Promise<Credential> {
  let text: string
  try {
    text = (await readUserFile(path, {what: 'JSON key file', maxBytes: MAX_KEY_FILE_BYTES})).toString('utf8')
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error
    throw new AuthError('KEY_FILE_UNREADABLE', error.message, {path})
  }
  const password = text.replace(/\r?\n$/, '')
  let parsed: unknown
  try {
    parsed = JSON.parse(password)
  } catch {
    throw new AuthError('KEY_FILE_INVALID', `JSON key file ${path} is not valid JSON`, {
      path,
      hint: 'pass the service-account key file downloaded from the cloud console, unchanged',
    })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AuthError('KEY_FILE_INVALID', `JSON key file ${path} is JSON but not an object, so it is not a key file`, {
      path,
    })
  }
  return {kind: 'basic', username: JSON_KEY_USERNAME, password}
}
