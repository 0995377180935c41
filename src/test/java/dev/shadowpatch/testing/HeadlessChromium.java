package dev.shadowpatch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's chromium, headless, driven through its DevTools protocol over a WebSocket (the JDK's
 * {@link java.net.http.WebSocket}; no browser driver): navigate, evaluate JavaScript in the page,
 * wait for a condition in the page, take a screenshot. What the page's scripts throw or log as an
 * error is collected ({@link #pageProblems()}) so a failing wait can say why.
 */
public final class HeadlessChromium implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://\\S+)");
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());

    private HeadlessChromium(Process process, WebSocket socket) {
        this.process = process;
        this.socket = socket;
    }

    /** Debian's chromium (ops/host-setup installs it). */
    public static String executable() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (new File(candidate).canExecute()) {
                return candidate;
            }
        }
        throw new AssertionError("Debian's chromium is not installed: run ops/host-setup (as root) to install it");
    }

    /** Starts chromium with a fresh profile under {@code workDir} and attaches to its first page. */
    public static HeadlessChromium start(Path workDir, int width, int height) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(workDir, "chromium-");
        Process p = new ProcessBuilder(executable(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--remote-debugging-port=0",
                "--remote-allow-origins=*", "--user-data-dir=" + profile, "--window-size=" + width + "," + height, "about:blank")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String browserWs = devToolsAddress(p);
            URI http = URI.create(browserWs.replaceFirst("^ws://", "http://").replaceFirst("/devtools/.*$", ""));
            HttpClient client = HttpClient.newHttpClient();
            JsonNode targets = JSON.readTree(client.send(HttpRequest.newBuilder(http.resolve("/json/list")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            String pageWs = null;
            for (JsonNode t : targets) {
                if ("page".equals(t.path("type").asText())) {
                    pageWs = t.path("webSocketDebuggerUrl").asText();
                    break;
                }
            }
            if (pageWs == null) {
                throw new AssertionError("chromium has no page to attach to: " + targets);
            }
            HeadlessChromium[] self = new HeadlessChromium[1];
            Listener listener = new Listener(message -> self[0].received(message));
            WebSocket socket = client.newWebSocketBuilder().buildAsync(URI.create(pageWs), listener)
                    .get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            self[0] = new HeadlessChromium(p, socket);
            self[0].call("Runtime.enable", Map.of());
            self[0].call("Page.enable", Map.of());
            return self[0];
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            stop(p);
            throw e;
        } catch (ExecutionException | TimeoutException e) {
            stop(p);
            throw new IOException("could not attach to chromium's page: " + e, e);
        }
    }

    /** The browser's DevTools WebSocket address, from the line chromium prints on stderr at its start. */
    private static String devToolsAddress(Process p) throws IOException {
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String line;
        while (System.nanoTime() < deadline && (line = err.readLine()) != null) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                Thread drain = new Thread(() -> {
                    try {
                        err.transferTo(java.io.Writer.nullWriter());
                    } catch (IOException ignored) {
                        // chromium ended
                    }
                }, "chromium-stderr");
                drain.setDaemon(true);
                drain.start();
                return m.group(1);
            }
            seen.add(line);
        }
        throw new AssertionError("chromium printed no DevTools address within 60 s; it said: " + seen);
    }

    /** One DevTools command; its result, or an AssertionError with the protocol's error. */
    public JsonNode call(String method, Map<String, ?> params) {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
        message.set("params", JSON.valueToTree(params));
        socket.sendText(message.toString(), true).join();
        try {
            JsonNode reply = answer.get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            if (reply.has("error")) {
                throw new AssertionError("DevTools " + method + " failed: " + reply.get("error"));
            }
            return reply.path("result");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for DevTools " + method, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("DevTools " + method + " did not answer within " + CALL_TIMEOUT.toSeconds() + " s", e);
        } finally {
            pending.remove(id);
        }
    }

    private void received(String text) {
        JsonNode message;
        try {
            message = JSON.readTree(text);
        } catch (IOException e) {
            return;
        }
        if (message.has("id")) {
            CompletableFuture<JsonNode> answer = pending.get(message.get("id").asInt());
            if (answer != null) {
                answer.complete(message);
            }
            return;
        }
        String method = message.path("method").asText();
        JsonNode params = message.path("params");
        if (method.equals("Runtime.exceptionThrown")) {
            JsonNode details = params.path("exceptionDetails");
            problems.add("exception: " + details.path("exception").path("description").asText(details.path("text").asText()));
        } else if (method.equals("Runtime.consoleAPICalled") && params.path("type").asText().equals("error")) {
            List<String> args = new ArrayList<>();
            params.path("args").forEach(a -> args.add(a.has("value") ? a.get("value").asText() : a.path("description").asText()));
            problems.add("console.error: " + String.join(" ", args));
        }
    }

    /** What the page's scripts threw or logged as errors so far. */
    public List<String> pageProblems() {
        synchronized (problems) {
            return List.copyOf(problems);
        }
    }

    public void navigate(String url) {
        JsonNode result = call("Page.navigate", Map.of("url", url));
        if (result.hasNonNull("errorText")) {
            throw new AssertionError("chromium could not load " + url + ": " + result.get("errorText").asText());
        }
    }

    /** Evaluates a JavaScript expression in the page; its value (JSON), null for undefined. */
    public JsonNode evaluate(String expression) {
        JsonNode result = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true, "awaitPromise", true));
        if (result.has("exceptionDetails")) {
            JsonNode d = result.get("exceptionDetails");
            throw new AssertionError("the page threw evaluating `" + expression + "`: "
                    + d.path("exception").path("description").asText(d.path("text").asText()));
        }
        JsonNode value = result.path("result").path("value");
        return value.isMissingNode() ? null : value;
    }

    /**
     * Polls the expression every 100 ms until it is truthy (not null, false, 0 or ""), and returns its
     * value; past the timeout fails naming what was awaited, where the page is and what its scripts threw.
     */
    public JsonNode waitFor(String what, String expression, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last = null;
        AssertionError lastError = null;
        while (System.nanoTime() < deadline) {
            try {
                last = evaluate(expression);
                lastError = null;
                if (truthy(last)) {
                    return last;
                }
            } catch (AssertionError e) { // a page in the middle of loading
                lastError = e;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
        String where;
        try {
            where = String.valueOf(evaluate("location.href + ' | ' + document.title + ' | '"
                    + " + (document.body ? document.body.innerText.replace(/\\s+/g, ' ').slice(0, 600) : '')"));
        } catch (AssertionError e) {
            where = "(the page did not answer: " + e.getMessage() + ")";
        }
        throw new AssertionError("Timed out after " + timeout.toSeconds() + " s waiting for " + what + " (`" + expression
                + "` was " + (lastError != null ? lastError.getMessage() : last) + "); the page: " + where
                + "; its scripts' errors: " + pageProblems());
    }

    private static boolean truthy(JsonNode v) {
        return v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean()) && !(v.isNumber() && v.asDouble() == 0)
                && !(v.isTextual() && v.asText().isEmpty());
    }

    /** A PNG of what the window shows now. */
    public Path screenshot(Path file) throws IOException {
        JsonNode result = call("Page.captureScreenshot", Map.of("format", "png"));
        Files.createDirectories(file.toAbsolutePath().getParent());
        return Files.write(file, Base64.getDecoder().decode(result.path("data").asText()));
    }

    @Override
    public void close() {
        try {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the browser goes anyway
        }
        stop(process);
    }

    private static void stop(Process p) {
        List<ProcessHandle> children = p.descendants().toList();
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }

    /** Collects a message's fragments and hands on each whole one. */
    private static final class Listener implements WebSocket.Listener {
        private final java.util.function.Consumer<String> onMessage;
        private final StringBuilder partial = new StringBuilder();

        Listener(java.util.function.Consumer<String> onMessage) {
            this.onMessage = onMessage;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String message = partial.toString();
                partial.setLength(0);
                onMessage.accept(message);
            }
            webSocket.request(1);
            return null;
        }
    }
}
