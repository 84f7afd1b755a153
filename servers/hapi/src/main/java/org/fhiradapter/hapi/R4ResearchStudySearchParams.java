package org.fhiradapter.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.FhirVersionEnum;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.context.RuntimeSearchParam;
import ca.uhn.fhir.rest.api.RestSearchParameterTypeEnum;
import org.hl7.fhir.r4.model.IdType;
import org.springframework.beans.factory.config.BeanPostProcessor;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * FHIR R4 core defines no {@code condition} and no {@code phase} search parameter on ResearchStudy (R5 does).
 * Unless disabled ({@code --no-extra-search-params}), the R4 server gets both, defined exactly like R5's
 * (token on ResearchStudy.condition / ResearchStudy.phase). They are added to the FhirContext's ResearchStudy
 * definition before HAPI builds its search parameter registry, so they behave like built-in parameters: every
 * write is indexed, the CapabilityStatement lists them, and {@code $expunge} cannot remove them (SearchParameter
 * resources, HAPI's usual way, would be wiped by the test reset and need a reindex of existing data).
 */
final class R4ResearchStudySearchParams implements BeanPostProcessor {

	static final String ENABLED_PROPERTY = "fhiradapter.r4ExtraSearchParams";

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) {
		if (bean instanceof FhirContext ctx
				&& ctx.getVersion().getVersion() == FhirVersionEnum.R4
				&& Boolean.parseBoolean(System.getProperty(ENABLED_PROPERTY, "true"))) {
			RuntimeResourceDefinition def = ctx.getResourceDefinition("ResearchStudy");
			add(def, "condition", "ResearchStudy.condition", "Condition being studied");
			add(def, "phase", "ResearchStudy.phase", "The stage in the progression of a study");
		}
		return bean;
	}

	private static void add(RuntimeResourceDefinition def, String name, String path, String description) {
		if (def.getSearchParam(name) != null) {
			return;
		}
		RuntimeSearchParam sp = new RuntimeSearchParam(
				new IdType("SearchParameter", "ResearchStudy-" + name),
				"http://hl7.org/fhir/SearchParameter/ResearchStudy-" + name,
				name,
				description + " (added by fhir-adapter's test server; defined in FHIR R5, not in R4 core)",
				path,
				RestSearchParameterTypeEnum.TOKEN,
				Set.of(),
				Set.of(),
				RuntimeSearchParam.RuntimeSearchParamStatusEnum.ACTIVE,
				List.of("ResearchStudy"));
		// The definition is sealed (unmodifiable) once the context has scanned the model classes, which happens
		// when the context is created; addSearchParam() then throws. Replace the two sealed collections instead.
		try {
			Map<String, RuntimeSearchParam> byName = new LinkedHashMap<>();
			for (RuntimeSearchParam existing : def.getSearchParams()) {
				byName.put(existing.getName(), existing);
			}
			byName.put(name, sp);
			List<RuntimeSearchParam> sorted = new ArrayList<>(byName.values());
			sorted.sort(Comparator.comparing(RuntimeSearchParam::getName));
			set(def, "myNameToSearchParam", Collections.unmodifiableMap(byName));
			set(def, "mySearchParams", Collections.unmodifiableList(sorted));
		} catch (ReflectiveOperationException e) {
			throw new IllegalStateException("cannot add search parameter ResearchStudy:" + name, e);
		}
	}

	private static void set(Object target, String field, Object value) throws ReflectiveOperationException {
		Field f = RuntimeResourceDefinition.class.getDeclaredField(field);
		f.setAccessible(true);
		f.set(target, value);
	}
}
