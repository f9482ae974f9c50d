"""Certificates for a tenant key agent: a private CA, the agent's server cert, the platform's.

Mutual TLS between the platform and a tenant's key agent uses a CA that belongs to that
tenant alone (made by ``lakevault key-agent certs`` on the tenant's machine):

* the **server** certificate (EKU serverAuth, SANs = the agent's host names and addresses)
  proves to the platform that it talks to the tenant's agent;
* the **client** certificate (EKU clientAuth) proves to the agent that the caller is the
  platform; the agent also pins its SHA-256 fingerprint, so a second client certificate signed
  by the same CA is refused unless the tenant adds it.

The platform receives only the CA certificate, the client certificate and the client key. The
CA key stays with the tenant (to re-issue). Keys are ECDSA P-256; certificates last
``days`` (default 397, the CA/B Forum limit for server certificates).
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lakevault.core.errors import InvalidParameterValue

DEFAULT_DAYS = 397


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCertificates:
    """PEM files of one agent's trust set. Private keys are excluded from ``repr``."""

    ca_certificate: bytes
    ca_key: bytes = field(repr=False)
    server_certificate: bytes
    server_key: bytes = field(repr=False)
    client_certificate: bytes
    client_key: bytes = field(repr=False)


def certificate_fingerprint(certificate_pem: bytes) -> str:
    """SHA-256 of the certificate's DER, lower-case hex (what the agent pins)."""
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    return certificate_der_fingerprint(certificate.public_bytes(serialization.Encoding.DER))


def certificate_der_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _name(common_name: str, tenant_id: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"lakevault tenant {tenant_id}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _subject_alternative_names(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue_agent_certificates(
    *, tenant_id: str, hosts: list[str], now: datetime, days: int = DEFAULT_DAYS
) -> AgentCertificates:
    """A new CA and the server and client certificates it signs, valid from ``now``.

    ``hosts`` are the names and IP addresses the platform uses to reach the agent; at least
    one is required, since the platform checks the server certificate against the URL.
    """
    if not hosts:
        raise InvalidParameterValue(
            "the agent's server certificate needs at least one host name or IP address "
            "(--host agent.example.org or --host 127.0.0.1)"
        )
    if not 1 <= days <= 3650:
        raise InvalidParameterValue(f"days must be 1 to 3650, got {days}")
    not_before = now - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"lakevault key agent CA ({tenant_id})", tenant_id)
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        common_name: str, usage: x509.ObjectIdentifier, sans: list[str] | None
    ) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, tenant_id))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if sans is not None:
            builder = builder.add_extension(_subject_alternative_names(sans), critical=False)
        certificate = builder.sign(ca_key, hashes.SHA256())
        return certificate.public_bytes(serialization.Encoding.PEM), _private_pem(key)

    server_certificate, server_key = leaf(
        f"lakevault key agent ({tenant_id})", ExtendedKeyUsageOID.SERVER_AUTH, hosts
    )
    client_certificate, client_key = leaf(
        f"lakevault platform (for tenant {tenant_id})", ExtendedKeyUsageOID.CLIENT_AUTH, None
    )
    return AgentCertificates(
        ca_certificate=ca_certificate.public_bytes(serialization.Encoding.PEM),
        ca_key=_private_pem(ca_key),
        server_certificate=server_certificate,
        server_key=server_key,
        client_certificate=client_certificate,
        client_key=client_key,
    )
