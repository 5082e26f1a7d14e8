package io.sluice.testing;

import io.sluice.Application;
import io.sluice.auth.ApiKey;
import io.sluice.auth.ApiKeys;
import io.sluice.db.Database;

import java.time.Clock;

/**
 * The first admin key of a server that is not in open mode (one accepting upload tokens): created on its database
 * directly, as {@code sluice keys create --admin} does, since no request could create it.
 */
public final class AdminKeys {

    private AdminKeys() {
    }

    /** The new admin key's secret ({@code sk_...}). */
    public static String create(TestServer server, String name) throws Exception {
        try (Database db = Application.openDatabase(server.app().config())) {
            return new ApiKeys(db, Clock.systemUTC()).create(new ApiKey.Spec(name, true, null, null, null)).secret();
        }
    }
}
