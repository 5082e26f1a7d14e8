package io.sluice;

/** Entry point of the runnable jar. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(io.sluice.cli.Main.run(args));
    }
}
