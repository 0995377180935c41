package dev.shadowpatch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** A minimal client of the app's REST API over real HTTP, anonymous or with HTTP Basic credentials. */
public final class Rest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String base;
    private final String authorization;

    private Rest(String base, String authorization) {
        this.base = base;
        this.authorization = authorization;
    }

    public static Rest anonymous(int port) {
        return new Rest("http://localhost:" + port + "/engine-rest", null);
    }

    public static Rest as(int port, String user, String password) {
        return new Rest("http://localhost:" + port + "/engine-rest", "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }

    public record Response(int status, String body, HttpResponse<String> raw) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("Not JSON (HTTP " + status + "): " + body, e);
            }
        }

        @Override
        public String toString() {
            return "HTTP " + status + " " + body;
        }
    }

    public Response get(String path) {
        return send(request(path).GET());
    }

    public Response post(String path, Object jsonBody) {
        return send(request(path).header("Content-Type", "application/json").POST(body(jsonBody)));
    }

    public Response put(String path, Object jsonBody) {
        return send(request(path).header("Content-Type", "application/json").PUT(body(jsonBody)));
    }

    private static HttpRequest.BodyPublisher body(Object jsonBody) {
        try {
            return HttpRequest.BodyPublishers.ofString(jsonBody instanceof String s ? s : JSON.writeValueAsString(jsonBody));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Accept", "application/json");
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return b;
    }

    private static Response send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> r = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body(), r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
