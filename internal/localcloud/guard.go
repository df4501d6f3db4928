package localcloud

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
)

// The local endpoint checks no credentials: whoever can send it a request
// controls it. What it can still refuse is what reaches it without the user
// asking: a web page the user visits, which may send requests to 127.0.0.1
// directly (then the browser adds Origin or Sec-Fetch-Site) or through a
// name of its own that it rebinds to 127.0.0.1 (DNS rebinding: then the Host
// header is that name). The SDKs and the aws CLI send neither browser header
// and set Host to the endpoint URL's host.

// AllowHost accepts host (a name or an address, without port) in the Host
// header of requests, besides localhost, *.localhost, the loopback addresses
// and the address a request arrived on. The endpoint adds the host of its
// listen address; name others a client reaches it by (e.g. a container's
// host.docker.internal).
func (s *Server) AllowHost(host string) {
	host = normalHost(host)
	// 0.0.0.0 and :: are where to listen, never a host to ask for: a page
	// asking for 0.0.0.0 reaches this machine in some browsers.
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.hosts, host) {
		s.hosts = append(s.hosts, host)
	}
}

// guard refuses a request a browser sent, or one whose Host header names
// neither this endpoint nor the port it listens on, with 403 and a message
// saying why. It reports whether the request may go on.
func (s *Server) guard(w http.ResponseWriter, r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		writeControlError(w, http.StatusForbidden, fmt.Sprintf("request from a web browser (Origin: %s) refused: "+
			"the local endpoint has no authentication, so web pages must not reach it", origin))
		return false
	}
	// Sec-Fetch-Site comes from browsers only; "none" is a URL the user
	// typed or bookmarked, which is theirs to send.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "none" {
		writeControlError(w, http.StatusForbidden, fmt.Sprintf("request from a web browser (Sec-Fetch-Site: %s) refused: "+
			"the local endpoint has no authentication, so web pages must not reach it", site))
		return false
	}
	if !s.hostAllowed(r) {
		writeControlError(w, http.StatusForbidden, fmt.Sprintf("Host %q refused: the local endpoint answers requests "+
			"addressed to localhost, a loopback address or its listen address on the port it listens on "+
			"(a web page's own name resolving here is how DNS rebinding reaches it)", r.Host))
		return false
	}
	return true
}

// hostAllowed reports whether r's Host header names this endpoint: the
// port of the connection's local address, and localhost, a name under
// .localhost, a loopback address, the connection's local address or a
// host added with AllowHost. A request that did not come over a connection
// (in-process, as in tests) has no local address and is not checked.
func (s *Server) hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil {
		return true
	}
	localIP, localPort, err := net.SplitHostPort(local.String())
	if err != nil {
		return true
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		// No port: the scheme's default, which must then be the port
		// listened on.
		host, port = r.Host, "80"
	}
	if port != localPort {
		return false
	}
	host = normalHost(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() || ip.Equal(net.ParseIP(normalHost(localIP))) {
			return true
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Contains(s.hosts, host)
}

// normalHost lower-cases host and drops IPv6 brackets, a zone and a
// trailing dot.
func normalHost(host string) string {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	return host
}

// jsonBody refuses a control request that may change something (any
// method but GET and HEAD) unless its Content-Type is application/json: a
// web form or a "simple" cross-site request cannot send that type without
// a CORS preflight, which the Origin check refuses.
func jsonBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeControlError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("%s %s: Content-Type must be application/json (got %q)",
			r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		return false
	}
	return true
}
