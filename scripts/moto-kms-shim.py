"""moto_server with three documented changes, so the test KMS behaves as AWS KMS does where
kms-envelope's KMS RSA recipients (docs/FORMAT.md §18) depend on it. Started by
scripts/kms-server.js with the pinned moto of .venv-moto (scripts/kms-server-requirements.txt);
everything else is moto unchanged.

1. Decrypt with an RSA key and EncryptionAlgorithm RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256
   does real RSA-OAEP (MGF1 with the same hash, empty label) with the private key moto holds,
   as KMS does for a ciphertext made offline with the key's public key. moto 5.2 only opens
   its own Encrypt output (AES-GCM under its symmetric material, whatever the key spec): such
   a blob still opens, tried after RSA. As KMS: an algorithm the key does not support, or a
   key whose KeyUsage is not ENCRYPT_DECRYPT, is InvalidKeyUsageException; a ciphertext that
   does not open (wrong key, wrong algorithm, altered) is InvalidCiphertextException; an
   asymmetric Decrypt without KeyId, or with an EncryptionContext, is ValidationException.
2. GetPublicKey answers KeyId with the key ARN and includes KeySpec, as KMS does (moto
   returns the bare key id and only the deprecated CustomerMasterKeySpec).
3. The pseudo-operation `KmseTestCalls` (X-Amz-Target TrentService.KmseTestCalls, body
   {"KeyId": ARN}) returns {"Calls": {operation: count}} for requests that named that key
   (KeyId, SourceKeyId or DestinationKeyId) since the last such query, and resets them:
   tests count KMS calls at the server, not in the client.
"""

import base64
import json
import sys
import threading
from collections import defaultdict

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from moto.kms import responses as kms_responses
from moto.core.exceptions import JsonRESTError
from moto.kms.exceptions import InvalidCiphertextException, ValidationException
from moto.kms.utils import RSAPrivateKey
from moto.server import main

KmsResponse = kms_responses.KmsResponse
OAEP_HASHES = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}

_calls = defaultdict(lambda: defaultdict(int))
_calls_lock = threading.Lock()


def _key_arn(response, key_id):
    try:
        backend = response.kms_backend
        return backend.keys[backend.any_id_to_key_id(key_id)].arn
    except Exception:
        return key_id


def _rsa_decrypt(self):
    key_id = self._get_param("KeyId")
    if not key_id:
        raise ValidationException("KeyId is required when decrypting with an asymmetric KMS key")
    self._validate_key_id(key_id)
    backend = self.kms_backend
    key = backend.keys[backend.any_id_to_key_id(key_id)]
    algorithm = self._get_param("EncryptionAlgorithm")
    if key.key_usage != "ENCRYPT_DECRYPT" or algorithm not in (key.encryption_algorithms or []):
        raise JsonRESTError("InvalidKeyUsageException", f"{key.arn} key usage is {key.key_usage} which is not valid for Decrypt with {algorithm}.")
    if self._get_param("EncryptionContext"):
        raise ValidationException("EncryptionContext is not supported with asymmetric KMS keys")
    blob = self._get_param("CiphertextBlob") or b""  # moto's request parser has already decoded the base64
    if isinstance(blob, str):
        blob = base64.b64decode(blob)
    private = key.private_key
    if isinstance(private, RSAPrivateKey):
        hash_type = OAEP_HASHES[algorithm]
        try:
            plaintext = private.private_key.decrypt(blob, padding.OAEP(mgf=padding.MGF1(algorithm=hash_type()), algorithm=hash_type(), label=None))
        except Exception:
            plaintext = None
        if plaintext is not None:
            return json.dumps({"KeyId": key.arn, "Plaintext": base64.b64encode(plaintext).decode(), "EncryptionAlgorithm": algorithm})
    try:  # moto's own Encrypt output for this key
        plaintext, arn = backend.decrypt(ciphertext_blob=blob, encryption_context={}, key_id=key_id)
    except Exception:
        raise InvalidCiphertextException()
    return json.dumps({"KeyId": arn, "Plaintext": base64.b64encode(plaintext).decode(), "EncryptionAlgorithm": algorithm})


_moto_decrypt = KmsResponse.decrypt


def decrypt(self):
    algorithm = self._get_param("EncryptionAlgorithm")
    if algorithm in OAEP_HASHES:
        return _rsa_decrypt(self)
    return _moto_decrypt(self)


_moto_get_public_key = KmsResponse.get_public_key


def get_public_key(self):
    answer = json.loads(_moto_get_public_key(self))
    answer["KeyId"] = _key_arn(self, self._get_param("KeyId"))
    answer.setdefault("KeySpec", answer.get("CustomerMasterKeySpec"))
    return json.dumps(answer)


def kmse_test_calls(self):
    arn = _key_arn(self, self._get_param("KeyId") or "")
    with _calls_lock:
        counts = dict(_calls.pop(arn, {}))
    return json.dumps({"Calls": counts})


_moto_call_action = KmsResponse.call_action


def call_action(self):
    try:
        action = self._get_action()
        if action != "KmseTestCalls":
            named = {self._get_param(p) for p in ("KeyId", "SourceKeyId", "DestinationKeyId")} - {None, ""}
            with _calls_lock:
                for key_id in named:
                    _calls[_key_arn(self, key_id)][action] += 1
    except Exception:
        pass  # counting must never change an answer
    return _moto_call_action(self)


KmsResponse.decrypt = decrypt
KmsResponse.get_public_key = get_public_key
KmsResponse.kmse_test_calls = kmse_test_calls
KmsResponse.call_action = call_action

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
