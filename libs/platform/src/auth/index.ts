/** Who may do what: TLS credentials, bearer tokens, identities, roles and the per-call check. */
export { ANONYMOUS, ON_BEHALF_OF_KEY, actorOf, isIdentityName, onBehalfOfMetadata, type Identity } from './identity.js';
export { METHOD_ROLES, ROLES, ROLE_PURPOSE, SERVICE_CALLS, isRole, rolesAllow, type Role } from './roles.js';
export { MAX_TOKEN_TTL_S, TOKEN_ISSUER, createTokenVerifier, issueToken, type IssueTokenOptions, type TokenClaims, type TokenVerifier } from './tokens.js';
export { OPEN_AUTHENTICATOR, SERVICE_OU, createAuthenticator, type Authenticator, type AuthenticatorOptions, type CallCredentials } from './authenticator.js';
export { TLS_FILES, channelCredentials, loadTlsDir, readCaFile, serverCredentials, type TlsMaterial } from './tls.js';
export { clientCredentialsFromEnv, findRefitHome, type ClientCredentialSource } from './client-credentials.js';
export { ensureLocalCredentials, envSafePassword, type LocalCredentials, type LocalCredentialsOptions } from './local-credentials.js';
export { createCa, issueCertificate, type CertificateSubject, type PemPair } from './pki.js';
