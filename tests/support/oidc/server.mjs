// A real OpenID Connect provider (npm oidc-provider) for Charter's tests, on loopback only.
//
//   node server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI RESOURCE AUDIENCE
//
// One confidential client may use the authorization code flow (with PKCE) and client
// credentials. devInteractions' login form accepts any user name. Access tokens asked for with
// `resource=RESOURCE` are JWTs whose audience is AUDIENCE; `resource=OTHER_RESOURCE` gives a JWT
// for another audience and `resource=EXPIRED_RESOURCE` one that expired a minute before it was
// issued, so the tests can present genuinely signed tokens that Charter must refuse.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";

import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri, resource, audience] = process.argv.slice(2);
if (!audience) {
  console.error("usage: node server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI RESOURCE AUDIENCE");
  process.exit(2);
}
const OTHER_RESOURCE = "https://other.example/api";
const EXPIRED_RESOURCE = `${resource}/expired`;
const issuer = `http://127.0.0.1:${port}`;

// Groups by login name; anyone else is only in "everyone".
const GROUPS = {
  alice: ["ml-team", "risk-approvers"],
  bob: ["ml-team"],
};
// What a client-credentials token says about the machine behind it.
const SERVICE_GROUPS = ["pipelines"];

const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
  format: "jwk",
});

function resourceServer(indicator) {
  const common = { scope: "registry", accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } } };
  if (indicator === resource || indicator === EXPIRED_RESOURCE) {
    return { ...common, audience };
  }
  if (indicator === OTHER_RESOURCE) {
    return { ...common, audience: "other-api" };
  }
  return undefined;
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code", "client_credentials"],
      response_types: ["code"],
    },
  ],
  jwks: { keys: [{ ...signingKey, kid: "test-rsa", use: "sig", alg: "RS256" }] },
  claims: {
    openid: ["sub"],
    profile: ["name", "preferred_username", "groups"],
    email: ["email", "email_verified"],
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          name: id.charAt(0).toUpperCase() + id.slice(1),
          preferred_username: id,
          email: `${id}@example.com`,
          email_verified: true,
          groups: GROUPS[id] ?? ["everyone"],
        };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Only an explicit `resource` gets a JWT: the code flow's access token stays the
      // opaque one for the userinfo endpoint.
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo(_ctx, indicator) {
        const info = resourceServer(indicator);
        if (!info) {
          throw new Provider.errors.InvalidTarget();
        }
        return info;
      },
    },
  },
  async extraTokenClaims(_ctx, token) {
    if (token.accountId) {
      return { groups: GROUPS[token.accountId] ?? ["everyone"] };
    }
    return { groups: SERVICE_GROUPS };
  },
  formats: {
    customizers: {
      async jwt(_ctx, token, jwt) {
        if (token.resourceServer?.identifier() === EXPIRED_RESOURCE) {
          jwt.payload.iat -= 120;
          jwt.payload.exp = jwt.payload.iat + 60;
        }
      },
    },
  },
  pkce: { required: () => true },
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, AuthorizationCode: 60 },
  cookies: { keys: ["charter-test-cookie-key"] },
});


http.createServer(provider.callback()).listen(Number(port), "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
