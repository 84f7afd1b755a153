package org.fhiradapter.validator;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.util.BundleUtil;
import org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport;
import org.hl7.fhir.instance.model.api.IBaseBundle;
import org.hl7.fhir.instance.model.api.IBaseResource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loads published conformance resources (CodeSystem, ValueSet, StructureDefinition; a Bundle of them is unpacked) from
 * folders of JSON files into one {@link PrePopulatedValidationSupport}. fhir-adapter publishes its own in
 * mappings/definitions/R5 and mappings/definitions/R4 (tools/build_definitions.py): the ClinicalTrials.gov enum code
 * systems and fhir-adapter's extensions. Extension StructureDefinitions carry a differential only: the chain's
 * SnapshotGeneratingValidationSupport makes their snapshots when the validator first needs them.
 */
final class Definitions {
	private Definitions() {}

	static PrePopulatedValidationSupport load(FhirContext theContext, List<Path> theDirs) throws IOException {
		PrePopulatedValidationSupport support = new PrePopulatedValidationSupport(theContext);
		IParser parser = theContext.newJsonParser();
		for (Path dir : theDirs) {
			List<Path> files;
			try (Stream<Path> listing = Files.list(dir)) {
				files = listing.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
			}
			for (Path file : files) {
				IBaseResource resource = parser.parseResource(Files.readString(file, StandardCharsets.UTF_8));
				if (resource instanceof IBaseBundle bundle) {
					BundleUtil.toListOfResources(theContext, bundle).forEach(support::addResource);
				} else {
					support.addResource(resource);
				}
			}
		}
		return support;
	}
}
