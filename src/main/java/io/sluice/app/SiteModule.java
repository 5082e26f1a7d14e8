package io.sluice.app;

import io.sluice.config.SluiceConfig;
import io.sluice.http.Router;
import io.sluice.site.Dashboard;
import io.sluice.site.StaticSite;

import java.io.IOException;

/**
 * The dashboard (API role), which owns {@code /dashboard/}, and {@code /} too unless the application serves its own
 * static site ({@code server.staticDir}) there.
 */
public final class SiteModule implements Module {

    public SiteModule(SluiceConfig config, Router publicRouter) throws IOException {
        Dashboard.load(config.tus().basePath()).register(publicRouter, config.server().staticDir() == null);
        if (config.server().staticDir() != null) {
            // A fallback, not a route: every endpoint wins over a file of the same path.
            publicRouter.fallback(new StaticSite(config.server().staticDir()));
        }
    }

    @Override
    public String name() {
        return "site";
    }
}
