package org.fhiradapter.validator;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;

import java.io.IOException;
import java.io.InputStream;

/**
 * Serves the cross-version path tables (xver-paths-5.0.json) that HL7's validator reads, as "binaries", to check
 * the official cross-version extensions (http://hl7.org/fhir/5.0/StructureDefinition/extension-...). The table is
 * the one HL7 publishes in the npm package hl7.fhir.xver-extensions 0.1.0 (CC0), kept in src/main/resources/xver.
 * Without it the validator reports every such extension as "invalid Version '5.0'".
 */
final class XverPathsSupport implements IValidationSupport {
	private final FhirContext myContext;

	XverPathsSupport(FhirContext theContext) {
		myContext = theContext;
	}

	@Override
	public FhirContext getFhirContext() {
		return myContext;
	}

	@Override
	public byte[] fetchBinary(String theKey) {
		if (theKey == null || !theKey.matches("xver-paths-[0-9.]+\\.json")) {
			return null;
		}
		try (InputStream in = XverPathsSupport.class.getResourceAsStream("/xver/" + theKey)) {
			return in == null ? null : in.readAllBytes();
		} catch (IOException e) {
			return null;
		}
	}

	@Override
	public String getName() {
		return "fhir-adapter xver paths";
	}
}
