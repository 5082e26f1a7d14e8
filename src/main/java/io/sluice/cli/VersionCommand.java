package io.sluice.cli;

import io.sluice.Application;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "version", description = "Print the version.")
public final class VersionCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.println("sluice " + Application.version() + " (Java " + Runtime.version() + ")");
        return 0;
    }
}
