package io.sluice.app;

import io.sluice.auth.AccessPolicy;
import io.sluice.auth.ApiKeys;
import io.sluice.auth.Authenticator;
import io.sluice.auth.KeysApi;
import io.sluice.auth.RateLimiter;
import io.sluice.auth.TokenRevocations;
import io.sluice.auth.TokenVerifier;
import io.sluice.auth.TokensApi;
import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.http.Router;

import java.sql.SQLException;
import java.time.Clock;

/**
 * API keys and application-signed upload tokens: the public router authenticates every request it routes (the admin port stays unguarded), per-key
 * rates, and the keys routes. Who a caller is gets decided here; a new way to authenticate is built here too.
 */
public record AuthModule(ApiKeys keys, Authenticator authenticator, TokenRevocations revocations) implements Module {

    public static AuthModule create(SluiceConfig config, Database db, Router publicRouter) throws SQLException {
        ApiKeys keys = new ApiKeys(db, Clock.systemUTC());
        TokenRevocations revocations = new TokenRevocations(db, Clock.systemUTC(), System::nanoTime);
        Authenticator authenticator = new Authenticator(keys, new TokenVerifier(config.auth().jwt(), Clock.systemUTC()),
                revocations, config.server().host(), System::nanoTime);
        publicRouter.guard(new AccessPolicy(authenticator, new RateLimiter(System::nanoTime)));
        new KeysApi(keys, authenticator).register(publicRouter);
        new TokensApi(revocations).register(publicRouter);
        authenticator.openMode(); // logs which mode is on
        return new AuthModule(keys, authenticator, revocations);
    }

    @Override
    public String name() {
        return "auth";
    }
}
