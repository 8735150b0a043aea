/**
 * The last head an Envelope parsed, for the next one: messages under one cached data key have
 * heads that differ only in the message id, the commitment and the header tag (the suite,
 * frame size, context and recipients are the same bytes). A head whose bytes equal the
 * remembered one everywhere else decodes, by construction, to the remembered values with its
 * own id and commitment; a byte compare replaces decoding and validating both CBOR sections,
 * which measured about a tenth of a cached 100-byte decrypt.
 *
 * What it never changes: every byte outside the three skipped ranges is compared; those
 * ranges hold fixed-length opaque bytes whose CBOR heads are among the compared bytes; and the
 * reader limits a head was validated under must equal the current ones.
 * @module
 */
import { COMMITMENT_BYTES, MESSAGE_ID_BYTES, TAG_BYTES } from './constants.js'
import type { Header, Recipient } from './header.js'

/** The limits a head was validated under (see ReadLimits). */
export interface MemoLimits {
  readonly maxWrapped: number
  readonly maxFrameSize: number
  readonly reserved: readonly [string, string] | undefined
}

/** One head's parts, as parseHead builds them: views of `own`, the caller's private copy. */
export interface MemoHead {
  readonly header: Header
  readonly recipients: readonly Recipient[]
}

const MAX_MEMO_HEAD = 4096

/** See the module docs; one per Envelope with a cache (its settings' `headMemo`). */
export class HeadMemo {
  #bytes: Uint8Array | undefined
  #idAt = 0
  #commitmentAt = 0
  #tagAt = 0
  #limits: MemoLimits | undefined
  #head: MemoHead | undefined

  /**
   * The remembered head's shared parts (context and recipients) with this head's own id and
   * commitment, when `own` (a whole head: preamble to the end of the recipients) equals the
   * remembered bytes outside the skipped ranges and the limits match; else undefined.
   */
  lookup(own: Uint8Array, tagAt: number, limits: MemoLimits): MemoHead | undefined {
    const bytes = this.#bytes
    const last = this.#limits
    if (bytes === undefined || last === undefined || bytes.length !== own.length || tagAt !== this.#tagAt) return undefined
    if (last.maxWrapped !== limits.maxWrapped || last.maxFrameSize !== limits.maxFrameSize || last.reserved !== limits.reserved) return undefined
    const idAt = this.#idAt
    const commitmentAt = this.#commitmentAt
    if (!same(bytes, own, 0, idAt) || !same(bytes, own, idAt + MESSAGE_ID_BYTES, commitmentAt) || !same(bytes, own, commitmentAt + COMMITMENT_BYTES, tagAt))
      return undefined
    if (!same(bytes, own, tagAt + TAG_BYTES, own.length)) return undefined
    const { header, recipients } = this.#head!
    return {
      header: {
        suite: header.suite,
        messageId: own.subarray(idAt, idAt + MESSAGE_ID_BYTES),
        frameSize: header.frameSize,
        context: header.context,
        commitment: own.subarray(commitmentAt, commitmentAt + COMMITMENT_BYTES),
      },
      recipients,
    }
  }

  /**
   * Remembers a head parsed in full from `own` under `limits`; the memo keeps its own copy. Not
   * a head over 4 KiB (many or large wrapped keys): copying it on every miss would cost more
   * than the decoding the memo saves, and an Envelope would hold up to 384 KiB for it.
   */
  remember(own: Uint8Array, tagAt: number, limits: MemoLimits, head: MemoHead): void {
    if (own.length > MAX_MEMO_HEAD) {
      this.#bytes = undefined
      return
    }
    // The skipped ranges: message id, commitment (the header's last item, so it ends where the tag starts), header tag.
    const idAt = head.header.messageId.byteOffset - own.byteOffset
    const commitmentAt = head.header.commitment.byteOffset - own.byteOffset
    if (idAt + MESSAGE_ID_BYTES > commitmentAt || commitmentAt + COMMITMENT_BYTES !== tagAt) {
      this.#bytes = undefined // not the layout v1 gives every header: never skip anything for it
      return
    }
    const bytes = own.slice()
    const at = (view: Uint8Array): Uint8Array => bytes.subarray(view.byteOffset - own.byteOffset, view.byteOffset - own.byteOffset + view.length)
    this.#bytes = bytes
    this.#idAt = idAt
    this.#commitmentAt = commitmentAt
    this.#tagAt = tagAt
    this.#limits = limits
    // The remembered parts view the memo's copy, not `own`: heads handed out must not keep one another alive.
    this.#head = {
      header: { ...head.header, messageId: at(head.header.messageId), commitment: at(head.header.commitment) },
      recipients: Object.freeze(head.recipients.map((r) => Object.freeze({ type: r.type, keyId: r.keyId, wrapped: at(r.wrapped) }))),
    }
  }
}

function same(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false
  return true
}
