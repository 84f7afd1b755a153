package org.fhiradapter.validator;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.IValidationContext;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r5.utils.validation.constants.BestPracticeWarningLevel;
import org.hl7.fhir.utilities.validation.ValidationMessage;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * fhir-adapter's offline HAPI FHIR validator.
 *
 * <pre>
 * java -jar fhir-adapter-hapi-validator.jar --version R4|R5 [--definitions DIR]... [--timing] [--no-warmup] FILE... | -
 * </pre>
 *
 * {@code --definitions DIR} loads every {@code *.json} file of DIR (a CodeSystem, ValueSet or StructureDefinition, or
 * a Bundle of them) into the validation chain before any input, so that codes and extensions they define are checked
 * instead of reported as unknown: fhir-adapter's own definitions are {@code mappings/definitions/R5} and {@code R4}
 * (written by tools/build_definitions.py). It may be given more than once.
 *
 * Every FILE is validated in turn. {@code -} reads standard input line by line until end of input: a line that starts
 * with <code>{</code> is one FHIR resource in JSON (NDJSON), any other non-blank line is a file path. For each input
 * one JSON line is written (and flushed) to standard output:
 * <code>{"file": ..., "issues": [{"severity", "location", "message", "code", "messageId", "line", "col"}]}</code>.
 * {@code file} is the path, or {@code -:N} for the resource on line N of standard input.
 * The JVM and the validation context are set up once, so one process validates any number of resources.
 * {@code --timing} writes one JSON line with the start-up times to standard error.
 */
public final class Main {

	private Main() {}

	/** FhirInstanceValidator that keeps the core validator's own messages, which carry the issue type. */
	static final class CapturingInstanceValidator extends FhirInstanceValidator {
		private List<ValidationMessage> myLast = new ArrayList<>();

		CapturingInstanceValidator(IValidationSupport theSupport) {
			super(theSupport);
		}

		@Override
		protected List<ValidationMessage> validate(IValidationContext<?> theValidationCtx) {
			List<ValidationMessage> messages = super.validate(theValidationCtx);
			myLast = new ArrayList<>(messages);
			return messages;
		}

		List<ValidationMessage> takeLast() {
			List<ValidationMessage> last = myLast;
			myLast = new ArrayList<>();
			return last;
		}
	}

	static final class Engine {
		final FhirValidator myValidator;
		final CapturingInstanceValidator myInstanceValidator;

		final int myDefinitionCount;
		final long myDefinitionNanos;

		Engine(String theVersion, List<Path> theDefinitionDirs) throws IOException {
			FhirContext ctx;
			switch (theVersion) {
				case "R4" -> ctx = FhirContext.forR4();
				case "R5" -> ctx = FhirContext.forR5();
				default -> throw new IllegalArgumentException("--version must be R4 or R5, not " + theVersion);
			}
			// Codes in systems that no module of the chain knows (MeSH, SEVCO, ...; not ours: --definitions loads them)
			// cannot be checked offline: they are reported as warnings, never errors.
			UnknownCodeSystemWarningValidationSupport unknownCodeSystems =
					new UnknownCodeSystemWarningValidationSupport(ctx);
			unknownCodeSystems.setNonExistentCodeSystemSeverity(IValidationSupport.IssueSeverity.WARNING);
			// Our published CodeSystems, ValueSets and extension StructureDefinitions: their codes and extensions are
			// checked (a code outside a complete CodeSystem is an error) instead of reported as unknown.
			long definitionStart = System.nanoTime();
			PrePopulatedValidationSupport definitions = Definitions.load(ctx, theDefinitionDirs);
			myDefinitionNanos = System.nanoTime() - definitionStart;
			myDefinitionCount = definitions.countAll();
			ValidationSupportChain chain = new ValidationSupportChain(
					new XverPathsSupport(ctx),
					new DefaultProfileValidationSupport(ctx),
					definitions,
					new CommonCodeSystemsTerminologyService(ctx),
					new InMemoryTerminologyServerValidationSupport(ctx),
					new SnapshotGeneratingValidationSupport(ctx),
					unknownCodeSystems);
			// A CodeableConcept passes when one of its codings is valid in the bound value set: our concepts carry the
			// HL7 coding next to the ct.gov one, which is no member of HL7's value set (it is checked against its own
			// published CodeSystem instead).
			chain.setCodeableConceptValidationSuccessfulIfNotAllCodingsAreValid(true);
			myInstanceValidator = new CapturingInstanceValidator(chain);
			myInstanceValidator.setNoTerminologyChecks(false);
			myInstanceValidator.setAnyExtensionsAllowed(true);
			myInstanceValidator.setErrorForUnknownProfiles(false);
			myInstanceValidator.setBestPracticeWarningLevel(BestPracticeWarningLevel.Hint);
			myInstanceValidator.setAllowExamples(false);
			myValidator = ctx.newValidator();
			myValidator.setValidateAgainstStandardSchema(false);
			myValidator.setValidateAgainstStandardSchematron(false);
			myValidator.registerValidatorModule(myInstanceValidator);
		}

		JsonArray validate(String theResourceText) {
			JsonArray issues = new JsonArray();
			try {
				myValidator.validateWithResult(theResourceText);
				for (ValidationMessage m : myInstanceValidator.takeLast()) {
					JsonObject issue = new JsonObject();
					issue.addProperty("severity", m.getLevel() == null ? "error" : m.getLevel().toCode());
					issue.addProperty("location", m.getLocation());
					issue.addProperty("message", m.getMessage());
					issue.addProperty("code", m.getType() == null ? "invalid" : m.getType().toCode());
					if (m.getMessageId() != null && !m.getMessageId().contains(" ")) {
						issue.addProperty("messageId", m.getMessageId());
					}
					if (m.getLine() >= 0) {
						issue.addProperty("line", m.getLine());
					}
					if (m.getCol() >= 0) {
						issue.addProperty("col", m.getCol());
					}
					issues.add(issue);
				}
			} catch (Exception | StackOverflowError e) {
				myInstanceValidator.takeLast();
				issues.add(fatal("exception", "Validator failed: " + e));
			}
			return issues;
		}
	}

	static JsonObject fatal(String theCode, String theMessage) {
		JsonObject issue = new JsonObject();
		issue.addProperty("severity", "fatal");
		issue.addProperty("location", "");
		issue.addProperty("message", theMessage);
		issue.addProperty("code", theCode);
		return issue;
	}

	static void emit(PrintWriter theOut, String theFile, JsonArray theIssues) {
		JsonObject result = new JsonObject();
		result.addProperty("file", theFile);
		result.add("issues", theIssues);
		theOut.println(result);
		theOut.flush();
	}

	static void validatePath(Engine theEngine, PrintWriter theOut, String thePath) {
		String text;
		try {
			text = Files.readString(Path.of(thePath), StandardCharsets.UTF_8);
		} catch (Exception e) {
			JsonArray issues = new JsonArray();
			issues.add(fatal("not-found", "Cannot read " + thePath + ": " + e));
			emit(theOut, thePath, issues);
			return;
		}
		emit(theOut, thePath, theEngine.validate(text));
	}

	private static int usage(String theMessage) {
		System.err.println("error: " + theMessage);
		System.err.println("usage: java -jar fhir-adapter-hapi-validator.jar --version R4|R5 [--definitions DIR]..."
				+ " [--timing] [--no-warmup] FILE... | -");
		return 2;
	}

	static int run(String[] theArgs) throws Exception {
		long mainStartNanos = System.nanoTime();
		long jvmStartMs = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
		String version = null;
		boolean timing = false;
		boolean warmup = true;
		List<String> inputs = new ArrayList<>();
		List<Path> definitionDirs = new ArrayList<>();
		for (int i = 0; i < theArgs.length; i++) {
			String arg = theArgs[i];
			switch (arg) {
				case "--version" -> {
					if (i + 1 >= theArgs.length) {
						return usage("--version needs R4 or R5");
					}
					version = theArgs[++i].toUpperCase();
				}
				case "--definitions" -> {
					if (i + 1 >= theArgs.length) {
						return usage("--definitions needs a folder");
					}
					Path dir = Path.of(theArgs[++i]);
					if (!Files.isDirectory(dir)) {
						return usage("--definitions " + dir + " is not a folder");
					}
					definitionDirs.add(dir);
				}
				case "--timing" -> timing = true;
				case "--no-warmup" -> warmup = false;
				case "-h", "--help" -> {
					usage("help");
					return 0;
				}
				default -> inputs.add(arg);
			}
		}
		if (version == null || !(version.equals("R4") || version.equals("R5"))) {
			return usage("--version R4|R5 is required");
		}
		if (inputs.isEmpty()) {
			return usage("no input: give file paths or - for standard input");
		}

		Engine engine;
		try {
			engine = new Engine(version, definitionDirs);
		} catch (IOException | RuntimeException e) {
			System.err.println("error: cannot load the definitions: " + e);
			return 2;
		}
		long contextNanos = System.nanoTime();
		if (warmup) {
			// Loads the core StructureDefinitions, snapshots and terminology caches once, before the first input.
			engine.validate("{\"resourceType\":\"Basic\",\"code\":{\"text\":\"warm-up\"}}");
		}
		long warmupNanos = System.nanoTime();
		if (timing) {
			JsonObject t = new JsonObject();
			t.addProperty("event", "ready");
			t.addProperty("version", version);
			t.addProperty("jvm_start_ms", jvmStartMs);
			t.addProperty("context_ms", (contextNanos - mainStartNanos) / 1_000_000);
			t.addProperty("definitions", engine.myDefinitionCount);
			t.addProperty("definitions_ms", engine.myDefinitionNanos / 1_000_000);
			t.addProperty("warmup_ms", (warmupNanos - contextNanos) / 1_000_000);
			System.err.println(t);
			System.err.flush();
		}

		PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), false);
		int count = 0;
		for (String input : inputs) {
			if (input.equals("-")) {
				BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
				String line;
				int lineNumber = 0;
				while ((line = in.readLine()) != null) {
					lineNumber++;
					String trimmed = line.strip();
					if (trimmed.isEmpty()) {
						continue;
					}
					if (trimmed.startsWith("{")) {
						emit(out, "-:" + lineNumber, engine.validate(trimmed));
					} else {
						validatePath(engine, out, trimmed);
					}
					count++;
				}
			} else {
				validatePath(engine, out, input);
				count++;
			}
		}
		if (timing) {
			JsonObject t = new JsonObject();
			t.addProperty("event", "done");
			t.addProperty("inputs", count);
			t.addProperty("validate_ms", (System.nanoTime() - warmupNanos) / 1_000_000);
			System.err.println(t);
			System.err.flush();
		}
		out.flush();
		return 0;
	}

	public static void main(String[] theArgs) throws Exception {
		int rc = run(theArgs);
		// The validation support chain keeps a non-daemon cache thread: exit explicitly.
		System.exit(rc);
	}
}
