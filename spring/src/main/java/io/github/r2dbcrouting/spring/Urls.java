package io.github.r2dbcrouting.spring;

import org.jspecify.annotations.Nullable;

/** Hides credentials that a user wrote into a URL, before the URL reaches a message or a log. */
final class Urls {

    private Urls() {
    }

    /**
     * @param url an R2DBC URL, possibly {@code r2dbc:driver://user:password@host/db}
     * @return the URL with any password replaced by {@code ******}
     */
    static @Nullable String redact(@Nullable String url) {
        if (url == null) {
            return null;
        }
        int scheme = url.indexOf("://");
        if (scheme < 0) {
            return url;
        }
        int start = scheme + 3;
        int end = url.indexOf('/', start);
        String authority = end < 0 ? url.substring(start) : url.substring(start, end);
        int at = authority.lastIndexOf('@');
        if (at < 0) {
            return url;
        }
        String userInfo = authority.substring(0, at);
        int colon = userInfo.indexOf(':');
        String redacted = (colon < 0 ? userInfo : userInfo.substring(0, colon) + ":******") + authority.substring(at);
        return url.substring(0, start) + redacted + (end < 0 ? "" : url.substring(end));
    }
}
