"""Request and response bodies of sign-in and the user pool (AWS-style camelCase names).

Secrets that arrive (passwords, codes, tokens, challenge sessions) are ``SecretStr``, so that a
logged or echoed model shows ``**********``; secrets that leave appear only in the response of
the call that issues them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lakevault import identity


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PasswordSignIn(Body):
    accountId: str = Field(pattern=r"^[0-9]{12}$", examples=["000000000000"])
    userName: str = Field(min_length=1, max_length=64)
    password: SecretStr
    mfaCode: SecretStr | None = None


class PoolSignIn(Body):
    userName: str = Field(min_length=1, max_length=128)
    password: SecretStr
    mfaCode: SecretStr | None = None


class SignInResponse(BaseModel):
    """Tokens of a completed sign-in, or the challenge it must answer first."""

    accessToken: str | None = None
    tokenType: str = "Bearer"
    expiresAt: datetime | None = None
    idToken: str | None = None
    refreshToken: str | None = None
    refreshTokenExpiresAt: datetime | None = None
    challengeName: str | None = None
    session: str | None = None
    sessionExpiresAt: datetime | None = None

    @classmethod
    def of(
        cls, result: identity.AuthenticationResult | identity.PendingChallenge
    ) -> SignInResponse:
        if isinstance(result, identity.PendingChallenge):
            return cls(
                challengeName=result.name.value,
                session=result.session,
                sessionExpiresAt=result.expires_at,
            )
        return cls(
            accessToken=result.access_token.token,
            expiresAt=result.access_token.expires_at,
            idToken=result.id_token.token if result.id_token is not None else None,
            refreshToken=result.refresh_token.token,
            refreshTokenExpiresAt=result.refresh_token.expires_at,
        )


class ChallengeAnswer(Body):
    """``mfaCode`` answers an MFA challenge; ``newPassword`` answers NEW_PASSWORD_REQUIRED."""

    session: SecretStr
    mfaCode: SecretStr | None = None
    newPassword: SecretStr | None = None


class RefreshRequest(Body):
    refreshToken: SecretStr


class AssociateSoftwareToken(Body):
    session: SecretStr | None = None


class SoftwareToken(BaseModel):
    """The TOTP secret, shown in this response only."""

    secretCode: str
    otpauthUri: str


class VerifySoftwareToken(Body):
    mfaCode: SecretStr


class SignUp(Body):
    userName: str = Field(min_length=1, max_length=64)
    password: SecretStr
    email: str = Field(min_length=3, max_length=320)


class ConfirmSignUp(Body):
    userName: str = Field(min_length=1, max_length=128)
    code: SecretStr


class UserNameOnly(Body):
    userName: str = Field(min_length=1, max_length=128)


class ConfirmForgotPassword(Body):
    userName: str = Field(min_length=1, max_length=128)
    code: SecretStr
    newPassword: SecretStr


class CodeDeliveryDetails(BaseModel):
    destination: str | None
    deliveryMedium: str

    @classmethod
    def of(cls, value: identity.CodeDelivery) -> CodeDeliveryDetails:
        return cls(destination=value.destination, deliveryMedium=value.medium)


class PasswordPolicy(Body):
    minimumLength: int = Field(default=8, ge=8, le=256)
    requireUppercase: bool = True
    requireLowercase: bool = True
    requireNumbers: bool = True
    requireSymbols: bool = False

    def value(self) -> identity.PasswordPolicy:
        return identity.PasswordPolicy(
            min_length=self.minimumLength,
            require_uppercase=self.requireUppercase,
            require_lowercase=self.requireLowercase,
            require_digits=self.requireNumbers,
            require_symbols=self.requireSymbols,
        )

    @classmethod
    def of(cls, value: identity.PasswordPolicy) -> PasswordPolicy:
        return cls(
            minimumLength=value.min_length,
            requireUppercase=value.require_uppercase,
            requireLowercase=value.require_lowercase,
            requireNumbers=value.require_digits,
            requireSymbols=value.require_symbols,
        )


class NewUserPool(Body):
    poolName: str = Field(min_length=1, max_length=128)
    mfaConfiguration: identity.MFAConfiguration = identity.MFAConfiguration.OPTIONAL
    allowSelfSignUp: bool = True
    passwordPolicy: PasswordPolicy | None = None


class UserPoolUpdate(Body):
    mfaConfiguration: identity.MFAConfiguration
    allowSelfSignUp: bool
    passwordPolicy: PasswordPolicy


class UserPool(BaseModel):
    userPoolId: str
    arn: str
    accountId: str
    poolName: str
    mfaConfiguration: identity.MFAConfiguration
    allowSelfSignUp: bool
    passwordPolicy: PasswordPolicy
    createdAt: datetime
    updatedAt: datetime

    @classmethod
    def of(cls, value: identity.UserPoolInfo) -> UserPool:
        return cls(
            userPoolId=value.pool_id,
            arn=value.arn,
            accountId=value.account_id,
            poolName=value.name,
            mfaConfiguration=value.mfa_configuration,
            allowSelfSignUp=value.allow_self_sign_up,
            passwordPolicy=PasswordPolicy.of(value.password_policy),
            createdAt=value.created_at,
            updatedAt=value.updated_at,
        )


class AdminCreateUser(Body):
    userName: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=320)
    temporaryPassword: SecretStr | None = None
    messageAction: Literal["RESEND"] | None = None


class AdminCreatedUser(BaseModel):
    """The new user; ``temporaryPassword`` is shown in this response only."""

    userName: str
    arn: str
    email: str
    userStatus: str
    temporaryPassword: str
    temporaryPasswordExpiresAt: datetime

    @classmethod
    def of(cls, value: identity.AdminCreatedUser) -> AdminCreatedUser:
        return cls(
            userName=value.user_name,
            arn=value.arn,
            email=value.email,
            userStatus=value.status,
            temporaryPassword=value.temporary_password,
            temporaryPasswordExpiresAt=value.temporary_password_expires_at,
        )


class NewPoolGroup(Body):
    groupName: str = Field(min_length=1, max_length=128)
    iamGroupName: str | None = None
    mfaRequired: bool = False


class PoolGroup(BaseModel):
    groupName: str
    iamGroupArn: str
    mfaRequired: bool
    createdAt: datetime

    @classmethod
    def of(cls, value: identity.UserPoolGroupInfo) -> PoolGroup:
        return cls(
            groupName=value.name,
            iamGroupArn=value.iam_group_arn,
            mfaRequired=value.mfa_required,
            createdAt=value.created_at,
        )


class OutboxMessage(BaseModel):
    messageId: str
    recipient: str
    subject: str
    body: str
    state: str
    createdAt: datetime
    deliveredAt: datetime | None

    @classmethod
    def of(cls, value: identity.MailMessage) -> OutboxMessage:
        return cls(
            messageId=value.message_id,
            recipient=value.recipient,
            subject=value.subject,
            body=value.body,
            state=value.state.value,
            createdAt=value.created_at,
            deliveredAt=value.delivered_at,
        )
