"""OCI ATP credentials (DSCSA authorized trading partners) through digital wallets.

verinet never signs or checks a presentation itself: a partner's wallet does, over the OCI
Digital Wallet API v2 (``POST /api/v1/verifiablePresentation/generate`` and ``.../verify``),
with the wallet's OAuth2 client credentials (tokens cached and renewed as for remote
networks). A wallet's refusal, or a presentation whose nonce is not the question's corrUUID,
is an :class:`AtpRefused`: 403 with the OCI error code, never a verdict.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from verinet.errors import BadUpstream, Forbidden, UpstreamTimeout
from verinet.lookup.profiles import RemoteProfile
from verinet.lookup.remote_auth import RemoteAuth

#: The OCI error codes a presentation can be refused with.
OCI_ERROR_CODES = frozenset(
    {
        "jwt_invalid",
        "vc_exp_expired",
        "vp_iat_expired",
        "vp_iss_invalid",
        "vp_nonce_invalid",
        "vc_invalid",
        "vc_non_trusted_issuer",
        "vc_revoked",
        "vc_proof_invalid",
        "vc_not_found",
    }
)
ATP_CREDENTIAL_TYPE = "DSCSAATPCredential"
MAX_WALLET_BODY = 65536


class AtpRefused(Forbidden):
    """A presentation was refused (or could not be had): 403 with the OCI error code."""

    def __init__(self, oci_code: str, message: str) -> None:
        # The code ends the message too: LMS errors are plain text.
        super().__init__(f"{message.rstrip('.')}. OCI error: {oci_code}.", code=f"atp.{oci_code}", oci_error=oci_code)
        self.oci_code = oci_code


@dataclass(frozen=True, slots=True)
class Wallet:
    """A partner's (or this network's) wallet: its DID and how to reach its API."""

    did: str
    url: str
    client_id: str
    client_secret: str
    token_url: str = ""

    def api_profile(self) -> RemoteProfile:
        """The wallet's API as a remote profile, for the OAuth2 token cache."""
        return RemoteProfile(
            name=f"wallet {self.did}",
            base_url=self.url,
            auth_scheme="oauth2",
            oauth_token_url=self.token_url or self.url + "/oauth/token",
            oauth_client_id=self.client_id,
            oauth_client_secret=self.client_secret,
        )

    def __repr__(self) -> str:
        return f"Wallet(did={self.did!r}, url={self.url!r}, client_id={self.client_id!r}, client_secret='***')"


class WalletClient:
    """Asks wallets for presentations and for their verification."""

    def __init__(self, session: aiohttp.ClientSession, auth: RemoteAuth) -> None:
        self.session = session
        self.auth = auth

    async def generate(self, wallet: Wallet, corr_uuid: str, deadline: float) -> str:
        """The holder's ATP presentation for one question (nonce = corrUUID)."""
        answer = await self._post(
            wallet,
            "/api/v1/verifiablePresentation/generate",
            {"corrUUID": corr_uuid, "holderDID": wallet.did, "credentialType": ATP_CREDENTIAL_TYPE},
            deadline,
        )
        presentation = answer.get("verifiablePresentation")
        if not isinstance(presentation, str) or not presentation:
            code = answer.get("errorCode")
            raise AtpRefused(
                code if code in OCI_ERROR_CODES else "vc_not_found",
                f"The wallet of {wallet.did} gave no ATP presentation: {str(answer.get('message') or code)[:200]}.",
            )
        return presentation

    async def verify(self, wallet: Wallet, presentation: str, corr_uuid: str, deadline: float) -> str:
        """Verifies another party's presentation through ``wallet``; returns the holder's DID."""
        answer = await self._post(
            wallet,
            "/api/v1/verifiablePresentation/verify",
            {"verifiablePresentation": presentation, "verifierDID": wallet.did},
            deadline,
        )
        if answer.get("verified") is not True:
            code = answer.get("errorCode")
            if code not in OCI_ERROR_CODES:
                code = "jwt_invalid"
            raise AtpRefused(code, f"The ATP presentation was refused: {code} ({str(answer.get('message') or '')[:200]}).")
        if corr_uuid and answer.get("nonce") != corr_uuid:
            raise AtpRefused(
                "vp_nonce_invalid",
                f"The ATP presentation's nonce {str(answer.get('nonce'))[:80]!r} is not the question's corrUUID {corr_uuid!r}.",
            )
        return str(answer.get("holderDID", ""))

    async def _post(self, wallet: Wallet, path: str, body: dict[str, Any], deadline: float) -> dict[str, Any]:
        profile = wallet.api_profile()
        try:
            token = await self.auth.access_token(profile, deadline)
            async with asyncio.timeout(max(deadline - self.auth.clock(), 0.001)):
                async with self.session.post(
                    wallet.url + path,
                    data=orjson.dumps(body),
                    headers={"Authorization": f"Bearer {token.value}", "Content-Type": "application/json"},
                    allow_redirects=False,
                ) as response:
                    raw = await response.content.read(MAX_WALLET_BODY + 1)
                    status = response.status
        except TimeoutError:
            raise UpstreamTimeout(f"The wallet at {wallet.url} did not answer in time.", code="atp.wallet_timeout") from None
        except (aiohttp.ClientError, OSError) as error:
            raise BadUpstream(f"The wallet at {wallet.url} is unreachable ({type(error).__name__}).", code="atp.wallet_unreachable") from None
        if status == 401:
            self.auth.forget(profile)
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict) or status >= 500 or status in (401, 403):
            raise BadUpstream(f"The wallet at {wallet.url} answered {status} without a usable body.", code="atp.wallet_error")
        return doc
