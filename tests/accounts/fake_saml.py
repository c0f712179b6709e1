"""A SAML identity provider in a few functions: reads CivicPost's AuthnRequest and answers with a Response
whose Assertion is signed (RSA-SHA256, xmlsec through python3-saml) by a test certificate."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ENTITY_ID = "https://adfs.city.example/adfs/services/trust"
SSO_URL = "https://adfs.city.example/adfs/ls/"
EMAIL_ATTRIBUTE = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"


def _instant(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeSAMLIdP:
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adfs.city.example")])
        now = dt.datetime.now(tz=dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )

    @property
    def certificate_b64(self) -> str:
        """As IdP metadata publishes it (base64 DER): what CIVICPOST_SAML_PROVIDERS takes as idp.x509cert."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()

    def provider_config(self, *, slug: str = "city-adfs", name: str = "City ADFS") -> dict:
        return {
            "id": slug,
            "name": name,
            "idp": {"entity_id": ENTITY_ID, "sso_url": SSO_URL, "x509cert": self.certificate_b64},
            "email_domains": ["city.example"],
        }

    @staticmethod
    def read_request(location: str) -> dict[str, str]:
        """The AuthnRequest in a redirect to the IdP: its ID, where to answer, and the RelayState."""
        from lxml import etree

        query = parse_qs(urlsplit(location).query)
        xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
        request = etree.fromstring(xml)  # noqa: S320 - our own request, parsed in a test
        return {
            "id": request.get("ID"),
            "acs": request.get("AssertionConsumerServiceURL"),
            "relay_state": query.get("RelayState", [""])[0],
            "issuer": request.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer"),
        }

    def response(
        self, *, request: dict[str, str], email: str, subject: str, sign: bool = True, swap_email_to: str = ""
    ) -> str:
        """A base64 SAMLResponse for `request`, asserting `email`; `swap_email_to` changes the address after
        signing, as an attacker in the middle would."""
        from onelogin.saml2.utils import OneLogin_Saml2_Utils

        now = dt.datetime.now(tz=dt.UTC)
        assertion_id = f"_a{secrets.token_hex(16)}"
        issued, before, after = (
            _instant(now),
            _instant(now - dt.timedelta(minutes=1)),
            _instant(now + dt.timedelta(minutes=5)),
        )
        assertion = f"""<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
 ID="{assertion_id}" Version="2.0" IssueInstant="{issued}">
<saml:Issuer>{ENTITY_ID}</saml:Issuer>
<saml:Subject>
<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{escape(subject)}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
<saml:SubjectConfirmationData InResponseTo="{request["id"]}" NotOnOrAfter="{after}"
 Recipient="{request["acs"]}"/>
</saml:SubjectConfirmation>
</saml:Subject>
<saml:Conditions NotBefore="{before}" NotOnOrAfter="{after}">
<saml:AudienceRestriction><saml:Audience>{request["issuer"]}</saml:Audience></saml:AudienceRestriction>
</saml:Conditions>
<saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="_s{secrets.token_hex(8)}">
<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>
</saml:AuthnStatement>
<saml:AttributeStatement>
<saml:Attribute Name="{EMAIL_ATTRIBUTE}"><saml:AttributeValue>{escape(email)}</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement>
</saml:Assertion>"""
        if sign:
            key_pem = self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            cert_pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
            assertion = OneLogin_Saml2_Utils.add_sign(assertion, key_pem, cert_pem)
            assertion = assertion.decode() if isinstance(assertion, bytes) else assertion
            assertion = assertion.replace('<?xml version="1.0"?>', "").strip()
        if swap_email_to:
            assertion = assertion.replace(escape(email), escape(swap_email_to))
        response = f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
 xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r{secrets.token_hex(16)}" Version="2.0"
 IssueInstant="{issued}" Destination="{request["acs"]}" InResponseTo="{request["id"]}">
<saml:Issuer>{ENTITY_ID}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
{assertion}
</samlp:Response>"""
        return base64.b64encode(response.encode()).decode()
