/**
 * A real KMSClient whose HTTP handler answers in process from a vector's recorded KMS
 * responses, in order: the SDK serialises and parses exactly as against AWS, and every request
 * that reaches the HTTP layer is recorded as the vectors spell it (CiphertextBlob in hex), so a
 * test can compare it with the recorded request. Used by the vector replays.
 */
import { Readable } from 'node:stream'
import { KMSClient } from '@aws-sdk/client-kms'

/** One recorded KMS answer: a Decrypt result (hex plaintext) or an error type. */
export type RecordedAnswer = { readonly KeyId: string; readonly Plaintext: string } | { readonly error: string }

/**
 * A client for `region` answering from `responses`; `extra` is added to every successful
 * answer (e.g. the EncryptionAlgorithm of an RSA Decrypt). A request past the recording gets
 * a 400 `UnexpectedRequest`.
 */
export function recordedKmsClient(
  region: string,
  responses: readonly RecordedAnswer[],
  extra: Readonly<Record<string, unknown>> = {},
): { client: KMSClient; sent: Record<string, unknown>[] } {
  const sent: Record<string, unknown>[] = []
  const client = new KMSClient({
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    // One attempt: a retried request would be a request the vector does not list.
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
        const operation = String(request.headers['x-amz-target']).replace('TrentService.', '')
        const raw = request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : String(request.body ?? '{}')
        const input = JSON.parse(raw) as Record<string, unknown>
        if (typeof input.CiphertextBlob === 'string') input.CiphertextBlob = Buffer.from(input.CiphertextBlob, 'base64').toString('hex')
        sent.push({ operation, ...input })
        const answer = responses[sent.length - 1]
        let status = 400
        let body: unknown = { __type: 'UnexpectedRequest', message: `the vector records ${responses.length} response(s)` }
        if (answer !== undefined && 'error' in answer) body = { __type: answer.error, message: '' }
        else if (answer !== undefined) {
          status = 200
          body = { KeyId: answer.KeyId, Plaintext: Buffer.from(answer.Plaintext, 'hex').toString('base64'), ...extra }
        }
        return {
          response: {
            statusCode: status,
            headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `vector-${sent.length}` },
            body: Readable.from([Buffer.from(JSON.stringify(body))]),
          },
        }
      },
    } as never,
  })
  return { client, sent }
}
