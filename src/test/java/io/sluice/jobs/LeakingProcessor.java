package io.sluice.jobs;

import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorException;

import java.util.Map;

/**
 * {@code test-leak}, a processor for tests whose run fails (not retryable) with the message given as the
 * {@code message} option, as a careless library quoting a URL or a credential in its exception would.
 */
public final class LeakingProcessor implements Processor {

    @Override
    public String name() {
        return "test-leak";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        String message = String.valueOf(options.get("message"));
        return new Task() {
            @Override
            public Result run(io.sluice.processors.ProcessorContext context) throws Exception {
                throw new ProcessorException("leaked", message, false, null);
            }
        };
    }
}
