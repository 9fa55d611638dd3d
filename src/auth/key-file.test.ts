import {afterEach, beforeEach, describe, expect, test} from 'bun:test'
import {AuthError} from './credential.ts'
import {jsonKeyCredential} from './key-file.ts'
import {authSandbox, type AuthSandbox} from '../../test/support/auth-sandbox.ts'

let box: AuthSandbox
beforeEach(async () => {
  box = await authSandbox()
})
afterEach(async () => {
  await box.cleanup()
})

const KEY = '{\n  "type": "service_account",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIsecret\\n-----END PRIVATE KEY-----\\n"\n}'

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(error instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(error)}`)
  return error
}

describe('jsonKeyCredential', () => {
  test('basic auth as _json_key with the file as password, one trailing newline trimmed', async () => {
    const path = await box.writeRaw('key.json', `${KEY}\n`)
    expect(await jsonKeyCredential(path)).toEqual({kind: 'basic', username: '_json_key', password: KEY})
  })

  test('only one trailing newline is trimmed, other whitespace is kept', async () => {
    const path = await box.writeRaw('key.json', ` ${KEY}\n\n`)
    expect(await jsonKeyCredential(path)).toEqual({kind: 'basic', username: '_json_key', password: ` ${KEY}\n`})
    const crlf = await box.writeRaw('crlf.json', `${KEY}\r\n`)
    expect(await jsonKeyCredential(crlf)).toEqual({kind: 'basic', username: '_json_key', password: KEY})
  })

  test('a file that is not JSON is KEY_FILE_INVALID, without its content', async () => {
    const path = await box.writeRaw('key.json', 'private_key=MIIsecret')
    const error = await rejection(jsonKeyCredential(path))
    expect(error.code).toBe('KEY_FILE_INVALID')
    expect(error.message).toBe(`JSON key file ${path} is not valid JSON`)
    expect(error.cause).toBeUndefined()
  })

  test('JSON that is not an object is KEY_FILE_INVALID', async () => {
    const path = await box.writeRaw('key.json', '"MIIsecret"\n')
    expect((await rejection(jsonKeyCredential(path))).code).toBe('KEY_FILE_INVALID')
  })

  test('an empty file is KEY_FILE_INVALID', async () => {
    const path = await box.writeRaw('key.json', '')
    expect((await rejection(jsonKeyCredential(path))).code).toBe('KEY_FILE_INVALID')
  })

  test('a missing file is KEY_FILE_UNREADABLE naming the path', async () => {
    const error = await rejection(jsonKeyCredential(`${box.root}/nope.json`))
    expect(error.code).toBe('KEY_FILE_UNREADABLE')
    expect(error.path).toBe(`${box.root}/nope.json`)
    expect(error.message).toBe(`cannot read JSON key file ${box.root}/nope.json: no such file`)
  })

  test('a device, a directory and a file over 64 KiB are KEY_FILE_UNREADABLE at once, without quoting the content', async () => {
    expect((await rejection(jsonKeyCredential('/dev/zero'))).message).toBe('cannot read JSON key file /dev/zero: it is a device, not a regular file')
    expect((await rejection(jsonKeyCredential(box.root))).code).toBe('KEY_FILE_UNREADABLE')
    const path = await box.writeRaw('huge.json', `{"private_key": "${'s'.repeat(64 * 1024)}"}`)
    const error = await rejection(jsonKeyCredential(path))
    expect(error.code).toBe('KEY_FILE_UNREADABLE')
    expect(error.message).toBe(`cannot read JSON key file ${path}: it is ${64 * 1024 + 19} bytes, more than the 64 KiB allowed`)
  })
})
