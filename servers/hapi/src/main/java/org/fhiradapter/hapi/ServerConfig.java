package org.fhiradapter.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.FhirVersionEnum;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.batch2.maintenance.JobMaintenanceServiceImpl;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.entity.StorageSettings;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.match.deliver.email.IEmailSender;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.ETagSupportEnum;
import ca.uhn.fhir.rest.server.IncomingRequestAddressStrategy;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;
import org.apache.commons.dbcp2.BasicDataSource;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

import java.util.Properties;
import javax.sql.DataSource;

/**
 * Everything a HAPI JPA server needs besides HAPI's own JpaR4Config/JpaR5Config + HapiJpaConfig:
 * the database, the JPA plumbing, the storage settings and the REST servlet.
 */
@Configuration
@Import({
	ThreadPoolFactoryConfig.class,
	SubscriptionChannelConfig.class, // in-memory message broker used by batch2 jobs (expunge, reindex); no subscriptions
	JpaBatch2Config.class,
	Batch2JobsConfig.class
})
public class ServerConfig {

	/** R4 only: the ResearchStudy search parameters condition and phase, which R4 core lacks. */
	@Bean
	public static BeanPostProcessor r4ResearchStudySearchParams() {
		return new R4ResearchStudySearchParams();
	}

	/**
	 * Batch2 jobs (e.g. DELETE ...&_expunge=true) start at the next maintenance pass, once a minute by default:
	 * once a second here, so such a delete is done within a few seconds.
	 */
	@Bean
	public static BeanPostProcessor fastBatchJobMaintenance() {
		return new BeanPostProcessor() {
			@Override
			public Object postProcessBeforeInitialization(Object bean, String beanName) {
				if (bean instanceof JobMaintenanceServiceImpl maintenance) {
					maintenance.setScheduledJobFrequencyMillis(1000);
				}
				return bean;
			}
		};
	}

	/** H2 in memory; one database per JVM, kept until the JVM exits. */
	@Bean(destroyMethod = "close")
	public BasicDataSource dataSource() {
		BasicDataSource ds = new BasicDataSource();
		ds.setDriverClassName("org.h2.Driver");
		ds.setUrl("jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1");
		ds.setUsername("sa");
		ds.setPassword("");
		ds.setMaxTotal(10);
		return ds;
	}

	@Bean
	public JpaStorageSettings storageSettings() {
		JpaStorageSettings s = new JpaStorageSettings();
		// References to resources on other servers (e.g. a protocol on another base URL) are stored as-is.
		s.setAllowExternalReferences(true);
		// Tests need fresh search results: never reuse a cached search.
		s.setReuseCachedSearchResultsForMillis(null);
		// Client-assigned ids may be anything (also numeric); server-assigned ids are UUIDs so they never clash.
		s.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ANY);
		s.setResourceServerIdStrategy(JpaStorageSettings.IdStrategyEnum.UUID);
		// Test-only reset: POST /fhir/$expunge with expungeEverything=true, DELETE ...?_expunge=true
		s.setExpungeEnabled(true);
		s.setDeleteExpungeEnabled(true);
		s.setAllowMultipleDelete(true);
		s.setIndexMissingFields(StorageSettings.IndexEnabledEnum.DISABLED);
		s.setAutoCreatePlaceholderReferenceTargets(false);
		s.setEnableTaskPreExpandValueSets(false);
		s.setPreExpandValueSets(false);
		s.setMarkResourcesForReindexingUponSearchParameterChange(false);
		// DELETE ...&_expunge=true runs as a batch2 job; fast tracking runs a one-chunk job at once instead of waiting
		// for the next maintenance pass ("useful for testing, not recommended for production" says HAPI).
		s.setJobFastTrackingEnabled(true);
		// Scheduled tasks for features we do not use.
		s.setEnableTaskBulkImportJobExecution(false);
		s.setEnableTaskBulkExportJobExecution(false);
		s.setEnableTaskResourceReindexing(false);
		// HAPI default, stated so it is visible: an update with identical content creates no new version.
		s.setSuppressUpdatesWithNoChange(true);
		return s;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings();
	}

	@Bean
	public SubscriptionSettings subscriptionSettings() {
		return new SubscriptionSettings(); // no subscription channel types: subscriptions are off
	}

	@Bean
	public IEmailSender emailSender() {
		return details -> {};
	}

	@Primary
	@Bean
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			DataSource dataSource,
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings) {
		LocalContainerEntityManagerFactoryBean emf =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		emf.setPersistenceUnitName("HAPI_PU");
		emf.setDataSource(dataSource);
		Properties p = new Properties();
		p.put("hibernate.dialect", "ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect");
		p.put("hibernate.hbm2ddl.auto", "update");
		p.put("hibernate.format_sql", "false");
		p.put("hibernate.show_sql", "false");
		p.put("hibernate.jdbc.batch_size", "20");
		p.put("hibernate.cache.use_query_cache", "false");
		p.put("hibernate.cache.use_second_level_cache", "false");
		p.put("hibernate.cache.use_structured_entries", "false");
		p.put("hibernate.cache.use_minimal_puts", "false");
		p.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
		// No Lucene/Elasticsearch: plain database search only.
		p.put("hibernate.search.enabled", "false");
		emf.setJpaProperties(p);
		return emf;
	}

	@Primary
	@Bean
	public JpaTransactionManager transactionManager(EntityManagerFactory emf) {
		JpaTransactionManager tm = new JpaTransactionManager();
		tm.setEntityManagerFactory(emf);
		return tm;
	}

	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			ResourceProviderFactory resourceProviderFactory,
			IJpaSystemProvider systemProvider,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider) {
		FhirContext ctx = systemDao.getContext();
		RestfulServer server = new RestfulServer(ctx);
		server.registerProviders(resourceProviderFactory.createProviders());
		server.registerProvider(systemProvider);
		JpaCapabilityStatementProvider cs = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		cs.setImplementationDescription("fhir-adapter test server: HAPI FHIR JPA "
				+ (ctx.getVersion().getVersion() == FhirVersionEnum.R5 ? "R5" : "R4") + ", H2 in memory");
		server.setServerConformanceProvider(cs);
		pagingProvider.setDefaultPageSize(20);
		pagingProvider.setMaximumPageSize(500);
		server.setPagingProvider(pagingProvider);
		server.setETagSupport(ETagSupportEnum.ENABLED);
		server.setDefaultResponseEncoding(EncodingEnum.JSON);
		server.setDefaultPrettyPrint(false);
		server.setServerAddressStrategy(new IncomingRequestAddressStrategy());
		return server;
	}
}
