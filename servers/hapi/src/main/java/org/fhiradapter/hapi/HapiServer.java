package org.fhiradapter.hapi;

import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.r5.JpaR5Config;
import ca.uhn.fhir.rest.server.RestfulServer;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

import java.util.Locale;

/**
 * Entry point: a HAPI FHIR JPA server (H2 in memory) for fhir-adapter's integration tests.
 *
 * <pre>java -jar hapi-server.jar --fhir-version R5|R4 --port PORT [--host 127.0.0.1] [--no-extra-search-params]</pre>
 *
 * Serves FHIR at http://HOST:PORT/fhir ; /fhir/metadata answers once the server is ready.
 */
public final class HapiServer {

	private static final String USAGE = "usage: java -jar hapi-server.jar --fhir-version R5|R4 --port PORT"
			+ " [--host 127.0.0.1] [--no-extra-search-params]";

	private HapiServer() {}

	private static IllegalArgumentException fail(String message) {
		System.err.println(message);
		System.err.println(USAGE);
		System.exit(2);
		return new IllegalArgumentException(message);
	}

	public static void main(String[] args) {
		try {
			run(args);
		} catch (Throwable t) {
			// Without this, HAPI's non-daemon threads (scheduler, thread pools) would keep a failed server alive.
			t.printStackTrace();
			System.err.println("HAPI FHIR server failed to start: " + t);
			System.exit(1);
		}
	}

	private static void run(String[] args) throws Exception {
		long t0 = System.nanoTime();
		String version = "R5";
		int port = 8080;
		String host = "127.0.0.1";
		for (int i = 0; i < args.length; i++) {
			String a = args[i];
			String value = null;
			int eq = a.indexOf('=');
			if (eq > 0) {
				value = a.substring(eq + 1);
				a = a.substring(0, eq);
			}
			if (a.equals("--help") || a.equals("-h")) {
				System.out.println(USAGE);
				return;
			}
			if (a.equals("--no-extra-search-params")) {
				System.setProperty(R4ResearchStudySearchParams.ENABLED_PROPERTY, "false");
				continue;
			}
			if (value == null && i + 1 < args.length) {
				value = args[++i];
			}
			if (value == null) {
				fail("missing value for " + a);
			}
			switch (a) {
				case "--fhir-version" -> version = value.toUpperCase(Locale.ROOT);
				case "--port" -> port = Integer.parseInt(value);
				case "--host" -> host = value;
				default -> fail("unknown argument: " + a);
			}
		}
		Class<?> versionConfig =
				switch (version) {
					case "R4" -> JpaR4Config.class;
					case "R5" -> JpaR5Config.class;
					default -> throw fail("--fhir-version must be R4 or R5, not " + version);
				};

		AnnotationConfigApplicationContext ctx = new AnnotationConfigApplicationContext();
		ctx.register(versionConfig, HapiJpaConfig.class, ServerConfig.class);
		ctx.refresh();

		RestfulServer fhirServlet = ctx.getBean(RestfulServer.class);

		QueuedThreadPool threads = new QueuedThreadPool(32, 4);
		threads.setName("http");
		Server jetty = new Server(threads);
		ServerConnector connector = new ServerConnector(jetty, 1, 1);
		connector.setHost(host);
		connector.setPort(port);
		jetty.addConnector(connector);
		ServletContextHandler handler = new ServletContextHandler();
		handler.setContextPath("/");
		ServletHolder holder = new ServletHolder("fhir", fhirServlet);
		holder.setInitOrder(1); // initialise (build CapabilityStatement etc.) before accepting requests
		handler.addServlet(holder, "/fhir/*");
		jetty.setHandler(handler);
		jetty.setStopAtShutdown(true);
		jetty.start();

		Runtime.getRuntime().addShutdownHook(new Thread(ctx::close, "spring-shutdown"));

		double secs = (System.nanoTime() - t0) / 1e9;
		System.out.printf(
				Locale.ROOT,
				"HAPI FHIR %s JPA server ready at http://%s:%d/fhir (started in %.1f s)%n",
				version,
				host,
				connector.getLocalPort(),
				secs);
		System.out.flush();
		jetty.join();
	}
}
