import {describe, expect, test} from 'bun:test'
import {signingKey, signRequest} from './sigv4.ts'

// AWS's documented example credentials and date (IAM user guide, "Create a signed AWS API request"; the SigV4 test suite).
const credentials = {accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'}
const now = Date.UTC(2015, 7, 30, 12, 36, 0)

describe('signRequest', () => {
  test('the signing key of the documented example', () => {
    expect(signingKey(credentials.secretAccessKey, '20150830', 'us-east-1', 'iam').toString('hex')).toBe(
      'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
    )
  })

  test('IAM ListUsers signs to the documented Authorization header', () => {
    const headers = signRequest(
      {
        method: 'GET',
        url: new URL('https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'),
        headers: {'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'},
        body: '',
        region: 'us-east-1',
        service: 'iam',
        now,
      },
      credentials,
    )
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    )
    expect(headers['x-amz-date']).toBe('20150830T123600Z')
  })

  test("the test suite's get-vanilla case", () => {
    const headers = signRequest(
      {method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '', region: 'us-east-1', service: 'service', now},
      credentials,
    )
    expect(headers.authorization).toEndWith('SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31')
  })

  test('a session token is sent and signed', () => {
    const headers = signRequest(
      {method: 'POST', url: new URL('https://api.ecr.eu-west-1.amazonaws.com/'), headers: {}, body: '{}', region: 'eu-west-1', service: 'ecr', now},
      {...credentials, sessionToken: 'session-token-value'},
    )
    expect(headers['x-amz-security-token']).toBe('session-token-value')
    expect(headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,')
  })
})
