/**
 * The CLI's help texts, one per command: what `kms-envelope <command> --help` prints.
 * @module
 */

export const HELP: Record<string, string> = {
  main: `kms-envelope: envelope encryption with AWS KMS or local keys

Usage: kms-envelope <command> [options]

Commands:
  keygen    create a local key file (or, with --type x25519|pq, a public-key identity)
  encrypt   encrypt a file or stdin
  decrypt   decrypt a file or stdin
  rewrap    give a message's data key to other keys (body unchanged; KMS to KMS via ReEncrypt)
  inspect   show a message's header as JSON (no key needed, nothing verified)
  migrate   convert AWS Encryption SDK message files to kms-envelope messages
  branch-key  create, rotate and describe branch keys in a DynamoDB branch key store

  -V, --version  print the version

Run 'kms-envelope <command> --help' for a command's options.
Keys: --key file:PATH, --key file:- (key file JSON on stdin), dir:PATH (every *.key file in
PATH), kms:ARN, kms:alias/NAME, kms:KEY-ID; with no --key, the key file JSON in
$KMS_ENVELOPE_KEY (--key always wins). Commands that read also take --decrypt-key SPEC: a
key that opens messages but never receives new ones (so does a key file whose "status" is
"decrypt-only").
Exit codes: 0 ok, 1 message rejected, 2 usage, 3 key problem, 4 input/output problem.`,
  keygen: `Usage: kms-envelope keygen -o FILE [--key-id ID]
       kms-envelope keygen --type x25519|pq -o FILE

Creates a local 256-bit master key file with mode 0600. Never overwrites a file.
A key is never written to a terminal or stdout unless asked with -o -.

  -o, --output FILE   where to write the key file (required); - prints it to stdout
                      (e.g. to store it in a secret manager or KMS_ENVELOPE_KEY)
      --key-id ID     name of the key inside messages (default: local: + random hex)
      --type TYPE     local (default); x25519 or pq: an identity file in age's format
                      (AGE-SECRET-KEY-1... / AGE-SECRET-KEY-PQ-1...), its public key
                      (age1... / age1pq1...) printed on stderr for encrypt -r
  -q, --quiet         print nothing on success`,
  encrypt: `Usage: kms-envelope encrypt --key SPEC [--key SPEC ...] [options] [IN]

Encrypts IN (a file, or stdin when omitted or -) to OUT (stdout by default).

  -k, --key SPEC          file:PATH, file:- (key file JSON on stdin; IN must then be a file),
                          dir:PATH (its active *.key files), kms:ARN, kms:alias/NAME or
                          kms:KEY-ID; aws-kms-rsa:ARN (a KMS RSA key: encrypted to offline,
                          one GetPublicKey); repeat to add recipients. Decrypt-only key files
                          are skipped; no active key at all is a usage error.
                          Default: the key file JSON in $KMS_ENVELOPE_KEY
  -r, --recipient R       an age public key to encrypt to (age1... X25519, age1pq1...
                          post-quantum); repeatable, mixes with --key. No secret needed.
  -R, --recipients-file F  one recipient a line (# comments, blank lines); repeatable
      --allow-classical-recipients  let a message for a pq recipient also go to x25519
                          ones (refused by default: they void the post-quantum protection)
      --passphrase        encrypt to a passphrase instead (scrypt; the only recipient):
                          prompted twice on a terminal, else $KMS_ENVELOPE_PASSPHRASE
      --work-factor N     scrypt cost for --passphrase: log2 N, 10 to 20 (default 18, about
                          1 s; readers refuse more than 18 unless they raise their limit)
  -c, --context K=V       encryption context pair; repeat for more
      --frame-size BYTES  plaintext bytes per frame (default 65536)
      --parallelism N     threads sealing frames: auto (default: one per core but one, left
                          to the I/O; one thread on two cores), or 1 to 64;
                          default from $KMS_ENVELOPE_PARALLELISM. The output is the same
  -a, --armor             write ASCII armor (PEM-style text, FORMAT.md §14) instead of binary
  -o, --output OUT        write to OUT (atomically; refused if it exists); - is stdout,
                          written even when it is a terminal
  -f, --force             replace OUT if it exists
      --allow-group-readable  accept key files their group may read (mode 0640/0440)
      --region REGION     AWS region for kms: keys (default: from the AWS environment)
      --endpoint URL      KMS endpoint (default: AWS_ENDPOINT_URL_KMS or AWS's)
  -q, --quiet             no progress bar

Streams in constant memory at any size, armored too. Binary output is refused on a
terminal unless -o - (use --armor for text). A progress bar is shown on stderr when it is
a terminal and IN is a regular file.`,
  decrypt: `Usage: kms-envelope decrypt --key SPEC [--key SPEC ...] [options] [IN]

Decrypts IN (a file, or stdin when omitted or -; binary or ASCII armor, recognised by
itself) to OUT (stdout by default).
With -o, OUT appears only once every byte is verified; on any failure it is left as it was.
To a pipe, plaintext is streamed as each frame is verified: if decryption fails part-way
the exit code is non-zero and what was already written must be discarded.
To a terminal (no -o), the plaintext is printed only once the whole message is verified,
and only if it is UTF-8 text of at most 1 MiB without control characters (tab, LF and
CRLF are fine); anything else is refused: use -o FILE, a pipe, or -o - to print it anyway.

  -k, --key SPEC             a key that may open the message (repeatable): file:PATH,
                             file:- (key file JSON on stdin; IN must then be a file),
                             dir:PATH, kms:..., aws-kms-rsa:ARN. Default: the key file JSON in
                             $KMS_ENVELOPE_KEY
      --decrypt-key SPEC     a read-only key (repeatable), tried after the --key keys
  -i, --identity FILE        an age identity file (keygen --type x25519|pq; one or more
                             secret keys, mode 0600); repeatable, mixes with --key
      --passphrase           also try a passphrase: prompted on a terminal, else
                             $KMS_ENVELOPE_PASSPHRASE
  -e, --expect-context K=V   require this context pair (repeatable)
      --range START-END      only plaintext bytes START to END-1 (START- : to the end); IN must be
                             a file: only the frames of the range are read and verified
      --parallelism N        threads verifying frames: auto (default: one per core but one,
                             left to the I/O; one thread on two cores), or 1 to 64;
                             default from $KMS_ENVELOPE_PARALLELISM
  -o, --output OUT           write to OUT (atomically; refused if it exists); - is stdout,
                             written as it is even when it is a terminal
  -f, --force                replace OUT if it exists
      --allow-group-readable accept key files their group may read (mode 0640/0440)
      --region REGION        AWS region for kms: keys
      --endpoint URL         KMS endpoint
  -q, --quiet                no progress bar

Streams in constant memory at any size. A progress bar is shown on stderr when it is a
terminal and IN is a regular file.`,
  rewrap: `Usage: kms-envelope rewrap --key OLD [--key OLD ...] --to NEW [--to NEW ...] [options] [IN]
       kms-envelope rewrap --key OLD --to NEW [--recursive] [--jobs N] [--dry-run] PATH...

Re-wraps the data key of the message in IN (or stdin) for NEW and writes the message to OUT
(stdout by default). Header and body stay byte-identical; only the wrapped keys change.
The wrapped keys OLD holds are removed unless --keep; other recipients stay. From kms: to
kms: this uses KMS ReEncrypt, so the plaintext data key never leaves KMS.

  -k, --key SPEC       a key that holds the message now (repeatable)
      --decrypt-key SPEC  a retired key that holds it (repeatable): rewrap away from it
  -i, --identity FILE  an age identity file that holds it (repeatable, mixes with --key)
  -t, --to SPEC        a key to give the message to (repeatable; dir:PATH gives its
                       active keys, a decrypt-only key file is refused; an age public key
                       age1... or age1pq1... as it is)
  -R, --recipients-file F  age public keys to give it to, one a line (repeatable)
      --keep           keep OLD's wrapped keys too
      --verify         authenticate the message first (Decrypt + Encrypt instead of ReEncrypt)
  -a, --armor          write ASCII armor (an armored IN is written armored anyway)
  -o, --output OUT     write to OUT (atomically; refused if it exists); - is stdout
  -f, --force          replace OUT if it exists (OUT may be IN)
      --allow-group-readable  accept key files their group may read (mode 0640/0440)
      --region REGION  AWS region for kms: keys
      --endpoint URL   KMS endpoint
  -q, --quiet          no progress output

In place (--in-place, --recursive, several PATHs or a directory): every message file is
rewrapped where it is, each replaced atomically (temp file beside it, fsync, rename; owner,
group and mode kept), so an interrupted run leaves each file old or new and a rerun finishes
the rest. An armored file stays armored. Files already wrapped for NEW and for no other key
of OLD are skipped and counted.
      --in-place       rewrap PATH in place even when it is one file
  -r, --recursive      rewrap every file under the directories given
  -j, --jobs N         files at a time (default 4)
      --dry-run        count what would be rewrapped or skipped; write nothing
Prints a summary (rewrapped, skipped, failed with reasons); exits non-zero if any failed.

--key defaults to the key file JSON in $KMS_ENVELOPE_KEY; file:- reads one key from stdin.`,
  inspect: `Usage: kms-envelope inspect [--key SPEC ...] [--decrypt-key SPEC ...] [-i FILE ...] [IN]

Prints the header of the message in IN (or stdin; binary or ASCII armor) as JSON: version,
suite, message id, context, recipients (type and key id), frame size and sizes. Needs no
key and verifies nothing; without keys it never contacts KMS.

  -k, --key SPEC           with keys, each recipient gets "status": "write" (a --key key
      --decrypt-key SPEC   holds it), "decrypt-only" or "none" (a rotation check: a message
  -i, --identity FILE      with no "write" recipient needs rewrap); an identity counts as a
                           --key. No data key is unwrapped; a kms:alias/ key is resolved
                           once (DescribeKey).
      --allow-group-readable, --region REGION, --endpoint URL   as for decrypt`,
  migrate: `Usage: kms-envelope migrate --esdk-key SPEC [--esdk-key SPEC ...] --to SPEC [--to SPEC ...]
                            [--recursive] [--jobs N] [--dry-run] [-o OUT] PATH...

Converts AWS Encryption SDK messages (any SDK language, message format 1 or 2) to kms-envelope
messages with the same plaintext: in place, or under OUT. Each file is streamed (constant
memory) and written atomically (temp file beside it, fsync, rename; in place, owner, group
and mode kept), so a run killed at any moment leaves every file either its old ESDK self or
a complete kms-envelope message; a rerun skips the files that are already kms-envelope
(counted as skipped) and finishes the rest. Nothing is written for a file whose message
fails to authenticate (including a signed suite's signature), and such a file is left as
it was.

  -k, --esdk-key SPEC   a key that opens the ESDK messages (repeatable):
                          raw-aes:NAMESPACE:NAME:KEYFILE   the SDK's raw AES keyring; KEYFILE
                                holds exactly the 16, 24 or 32 key bytes (binary), mode 0600
                          raw-rsa:NAMESPACE:NAME:PADDING:PEMFILE   the SDK's raw RSA keyring;
                                PADDING pkcs1, oaep-sha1, oaep-sha256, oaep-sha384 or oaep-sha512;
                                PEMFILE a PKCS #8 PEM private key, mode 0600
                          aws-kms:ARN   the SDK's AWS KMS keyring (Decrypt pinned to ARN)
                        NAMESPACE and NAME are the keyNamespace and keyName the SDK keyring
                        was built with (they cannot contain ':'; KEYFILE may).
  -t, --to SPEC         a key the new messages are written for (repeatable): file:PATH,
                        dir:PATH, kms:ARN, kms:alias/NAME, kms:KEY-ID, as for encrypt
      --commitment-policy POLICY   REQUIRE_ENCRYPT_REQUIRE_DECRYPT (default: committing suites
                        only), REQUIRE_ENCRYPT_ALLOW_DECRYPT or FORBID_ENCRYPT_ALLOW_DECRYPT
                        (also read the legacy non-committing suites), as the SDK names them
  -o, --output OUT      write the new messages under OUT instead of in place: with one file,
                        OUT is the new file; otherwise a directory, each file at its path
                        relative to the directory given (created as needed; never replaced)
  -r, --recursive       migrate every file under the directories given
  -j, --jobs N          files at a time (default 4)
      --dry-run         count what would be migrated or skipped, from each file's first
                        bytes (no key is used, nothing is decrypted); write nothing
      --allow-group-readable  accept key files their group may read (mode 0640/0440)
      --region REGION   AWS region for aws-kms: and kms: keys
      --endpoint URL    KMS endpoint
  -q, --quiet           no progress bar, no summary unless something failed

Each new message keeps the old encryption context, all of it (kms-envelope stores every
pair). When the old data key was wrapped by AWS KMS under a committing suite and --to has
that KMS key (kms:ARN), the KMS ciphertext is carried over: one KMS Decrypt per file and no
Encrypt (docs/FORMAT.md §20); otherwise the --to keys wrap a fresh data key.
Prints a summary (migrated, skipped, failed with reasons); exits non-zero if any failed.`,
  'branch-key': `Usage: kms-envelope branch-key create-table|create|version|describe --table TABLE --kms-key ARN [options]

Manages the branch keys of a DynamoDB branch key store (AWS's layout: tables written by AWS's
tooling and by kms-envelope are interchangeable). Branch keys are made and unwrapped by KMS;
nothing secret is printed. Output is JSON.

  create-table           create TABLE with the key schema (on-demand); an existing one is kept
  create                 create a branch key (random id, or --id with --context), print it
  version                rotate --id: a new active version; old versions stay for decryption
  describe               show --id's versions, active version and context (read only, not verified)

      --table TABLE      the DynamoDB table (required)
      --kms-key ARN      the KMS key ARN that wraps the branch keys (required; not an alias)
      --id ID            the branch key id (required for version and describe)
  -c, --context K=V      custom encryption context of a new key (repeatable; required with --id)
      --logical-name N   the logical key store name bound to every key (default: TABLE)
      --create-table     with create: create TABLE first if it does not exist
      --region REGION    Region of both clients (default: the KMS key ARN's)
      --endpoint URL     endpoint of both KMS and DynamoDB (tests; AWS_ENDPOINT_URL_KMS and
                         AWS_ENDPOINT_URL_DYNAMODB set them separately)
  -q, --quiet            print nothing on success (describe always prints)

IAM: kms:GenerateDataKeyWithoutPlaintext, kms:ReEncrypt*, kms:Decrypt on the key;
dynamodb:GetItem, Query, TransactWriteItems (PutItem with conditions), and for create-table
dynamodb:CreateTable and DescribeTable on the table.`,
}
