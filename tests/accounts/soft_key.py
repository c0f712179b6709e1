"""A software security key: answers WebAuthn registration and authentication like a browser with a
hardware key would (fido2 builds the same structures; "none" attestation, P-256 key)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData, CollectedClientData


class SoftKey:
    def __init__(self, *, origin: str = "https://testserver") -> None:
        self.origin = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0

    def _client_data(self, kind: str, challenge: str) -> CollectedClientData:
        return CollectedClientData.create(type=kind, challenge=websafe_decode(challenge), origin=self.origin)

    def register(self, creation_options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create(): returns the credential as webauthn-json sends it."""
        options = creation_options["publicKey"]
        client_data = self._client_data(CollectedClientData.TYPE.CREATE, options["challenge"])
        credential_data = AttestedCredentialData.create(
            aaguid=b"\0" * 16,
            credential_id=self.credential_id,
            public_key=ES256.from_cryptography_key(self.private_key.public_key()),
        )
        auth_data = AuthenticatorData.create(
            rp_id_hash=hashlib.sha256(options["rp"]["id"].encode()).digest(),
            flags=AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.AT,
            counter=self.counter,
            credential_data=credential_data,
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "cross-platform",
            "response": {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "attestationObject": websafe_encode(bytes(attestation)),
                "transports": ["usb"],
            },
            "clientExtensionResults": {"credProps": {"rk": False}},
        }

    def authenticate(self, request_options: dict[str, Any], *, rp_id: str = "testserver") -> dict[str, Any]:
        """navigator.credentials.get(): a signed assertion over the server's challenge."""
        options = request_options["publicKey"]
        self.counter += 1
        client_data = self._client_data(CollectedClientData.TYPE.GET, options["challenge"])
        auth_data = AuthenticatorData.create(
            rp_id_hash=hashlib.sha256(options.get("rpId", rp_id).encode()).digest(),
            flags=AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV,
            counter=self.counter,
        )
        signature = self.private_key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "cross-platform",
            "response": {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "authenticatorData": websafe_encode(bytes(auth_data)),
                "signature": websafe_encode(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }
