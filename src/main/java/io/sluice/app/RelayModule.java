package io.sluice.app;

import io.sluice.config.SluiceConfig;
import io.sluice.http.Router;
import io.sluice.relay.RelayApi;

import java.io.IOException;

/** The relay routes of {@code relays.*} (API role, only when relays are configured): synchronous forwarding. */
public final class RelayModule implements Module {

    public RelayModule(SluiceConfig config, Router publicRouter) throws IOException {
        new RelayApi(config.relays(), config.dataDir()).register(publicRouter);
    }

    @Override
    public String name() {
        return "relay";
    }
}
