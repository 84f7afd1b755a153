"""The rename table from ClinicalTrials.gov API v1 (``FullStudiesResponse``, retired 2023) study fields to the API v2
study fields that ``fhir_adapter.sources.ctgov_json`` reads; ``ctgov_v1`` walks it.

Sources: v2 names, https://clinicaltrials.gov/data-api/about-api/study-data-structure; v1 names as API v1 sent them
(the ``FullStudiesResponse`` records in ``tests/data/ctgov-v1/``, and the v1 reader this table replaced, issue 13).

Shape (JSON-like data): each key is a v1 field name, each value says what it becomes in the v2 object that holds it:

- ``"v2Name"``: a value renamed; ``"v2Name:kind"``: a value also rewritten from v1 wording (``date``: ``"March 4,
  2021"`` -> ISO 8601; ``count``: ``"1,200"`` -> 1200; ``flag``: ``"Yes"``/``"Accepts Healthy Volunteers"`` ->
  true; ``age``: ``"N/A"`` -> left out; ``masking``: ``"Double (Participant, Investigator)"`` -> ``DOUBLE`` and
  the ``whoMasked`` it names; ``sampling``: ``"Non-Probability Sample"`` -> ``NON_PROBABILITY_SAMPLE``);
- ``{"to": "v2Name", "fields": {...}}``: an object renamed, with its fields;
- ``{"to": "v2Name", "item": "V1Item"}``: a v1 list wrapper (``ConditionList: {Condition: [...]}``) -> the v2 list,
  with ``"fields"`` when the items are objects, ``"first": true`` when v2 has one value where v1 has a list.

Fields not in the table are not read: they are kept in ``Trial.unmapped`` under their v1 path (or ignored, see
``ctgov_v1.IGNORED``).
"""

from __future__ import annotations

from typing import Any


def _date_struct(v1: str, v2: str) -> dict[str, Any]:
    """``XxxDateStruct: {XxxDate, XxxDateType}`` -> ``xxxDateStruct: {date, type}``."""
    return {"to": f"{v2}Struct", "fields": {v1: "date:date", f"{v1}Type": "type"}}


def _outcomes(v1: str, v2: str) -> dict[str, Any]:
    fields = {f"{v1}OutcomeMeasure": "measure", f"{v1}OutcomeDescription": "description"}
    return {"to": f"{v2}Outcomes", "item": f"{v1}Outcome", "fields": fields | {f"{v1}OutcomeTimeFrame": "timeFrame"}}


def _contacts(v1: str, v2: str) -> dict[str, Any]:
    names = {"Name": "name", "Role": "role", "Phone": "phone", "PhoneExt": "phoneExt", "EMail": "email"}
    return {"to": v2, "item": v1, "fields": {f"{v1}{k}": v for k, v in names.items()}}


def _meshes(kind: str) -> dict[str, Any]:
    mesh = {"to": "meshes", "item": f"{kind}Mesh", "fields": {f"{kind}MeshId": "id", f"{kind}MeshTerm": "term"}}
    return {"to": f"{kind.lower()}BrowseModule", "fields": {f"{kind}MeshList": mesh}}


_IDENTIFICATION: dict[str, Any] = {
    "NCTId": "nctId",
    "OrgStudyIdInfo": {
        "to": "orgStudyIdInfo",
        "fields": {
            "OrgStudyId": "id",
            "OrgStudyIdType": "type",
            "OrgStudyIdDomain": "domain",
            "OrgStudyIdLink": "link",
        },
    },
    "SecondaryIdInfoList": {
        "to": "secondaryIdInfos",
        "item": "SecondaryIdInfo",
        "fields": {
            "SecondaryId": "id",
            "SecondaryIdType": "type",
            "SecondaryIdDomain": "domain",
            "SecondaryIdLink": "link",
        },
    },
    "Organization": {"to": "organization", "fields": {"OrgFullName": "fullName", "OrgClass": "class"}},
    "BriefTitle": "briefTitle",
    "OfficialTitle": "officialTitle",
    "Acronym": "acronym",
    "NCTIdAliasList": {"to": "nctIdAliases", "item": "NCTIdAlias"},
}

_STATUS: dict[str, Any] = {
    "StatusVerifiedDate": "statusVerifiedDate:date",
    "OverallStatus": "overallStatus",
    "LastKnownStatus": "lastKnownStatus",
    "WhyStopped": "whyStopped",
    "StartDateStruct": _date_struct("StartDate", "startDate"),
    "PrimaryCompletionDateStruct": _date_struct("PrimaryCompletionDate", "primaryCompletionDate"),
    "CompletionDateStruct": _date_struct("CompletionDate", "completionDate"),
    "StudyFirstSubmitDate": "studyFirstSubmitDate:date",
    "StudyFirstPostDateStruct": _date_struct("StudyFirstPostDate", "studyFirstPostDate"),
    "LastUpdatePostDateStruct": _date_struct("LastUpdatePostDate", "lastUpdatePostDate"),
    "ResultsFirstPostDateStruct": _date_struct("ResultsFirstPostDate", "resultsFirstPostDate"),
}

_SPONSORS: dict[str, Any] = {
    "ResponsibleParty": {
        "to": "responsibleParty",
        "fields": {
            "ResponsiblePartyType": "type",
            "ResponsiblePartyInvestigatorFullName": "investigatorFullName",
            "ResponsiblePartyInvestigatorTitle": "investigatorTitle",
            "ResponsiblePartyInvestigatorAffiliation": "investigatorAffiliation",
            "ResponsiblePartyOldNameTitle": "oldNameTitle",
            "ResponsiblePartyOldOrganization": "oldOrganization",
        },
    },
    "LeadSponsor": {"to": "leadSponsor", "fields": {"LeadSponsorName": "name", "LeadSponsorClass": "class"}},
    "CollaboratorList": {
        "to": "collaborators",
        "item": "Collaborator",
        "fields": {"CollaboratorName": "name", "CollaboratorClass": "class"},
    },
}

_DESIGN: dict[str, Any] = {
    "StudyType": "studyType",
    "PhaseList": {"to": "phases", "item": "Phase"},
    "DesignInfo": {
        "to": "designInfo",
        "fields": {
            "DesignAllocation": "allocation",
            "DesignInterventionModel": "interventionModel",
            "DesignInterventionModelDescription": "interventionModelDescription",
            "DesignPrimaryPurpose": "primaryPurpose",
            "DesignObservationalModelList": {
                "to": "observationalModel",
                "item": "DesignObservationalModel",
                "first": True,
            },
            "DesignTimePerspectiveList": {"to": "timePerspective", "item": "DesignTimePerspective", "first": True},
            "DesignMaskingInfo": {
                "to": "maskingInfo",
                "fields": {
                    "DesignMasking": "masking:masking",
                    "DesignMaskingDescription": "maskingDescription",
                    "DesignWhoMaskedList": {"to": "whoMasked", "item": "DesignWhoMasked"},
                },
            },
        },
    },
    "EnrollmentInfo": {
        "to": "enrollmentInfo",
        "fields": {"EnrollmentCount": "count:count", "EnrollmentType": "type"},
    },
}

_ARMS: dict[str, Any] = {
    "ArmGroupList": {
        "to": "armGroups",
        "item": "ArmGroup",
        "fields": {
            "ArmGroupLabel": "label",
            "ArmGroupType": "type",
            "ArmGroupDescription": "description",
            "ArmGroupInterventionList": {"to": "interventionNames", "item": "ArmGroupInterventionName"},
        },
    },
    "InterventionList": {
        "to": "interventions",
        "item": "Intervention",
        "fields": {
            "InterventionType": "type",
            "InterventionName": "name",
            "InterventionDescription": "description",
            "InterventionArmGroupLabelList": {"to": "armGroupLabels", "item": "InterventionArmGroupLabel"},
            "InterventionOtherNameList": {"to": "otherNames", "item": "InterventionOtherName"},
        },
    },
}

_ELIGIBILITY: dict[str, Any] = {
    "EligibilityCriteria": "eligibilityCriteria",
    "Gender": "sex",
    "GenderBased": "genderBased:flag",
    "GenderDescription": "genderDescription",
    "MinimumAge": "minimumAge:age",
    "MaximumAge": "maximumAge:age",
    "HealthyVolunteers": "healthyVolunteers:flag",
    "StudyPopulation": "studyPopulation",
    "SamplingMethod": "samplingMethod:sampling",
    "StdAgeList": {"to": "stdAges", "item": "StdAge"},
}

_CONTACTS: dict[str, Any] = {
    "CentralContactList": _contacts("CentralContact", "centralContacts"),
    "OverallOfficialList": {
        "to": "overallOfficials",
        "item": "OverallOfficial",
        "fields": {
            "OverallOfficialName": "name",
            "OverallOfficialAffiliation": "affiliation",
            "OverallOfficialRole": "role",
        },
    },
    "LocationList": {
        "to": "locations",
        "item": "Location",
        "fields": {
            "LocationFacility": "facility",
            "LocationStatus": "status",
            "LocationCity": "city",
            "LocationState": "state",
            "LocationZip": "zip",
            "LocationCountry": "country",
            "LocationContactList": _contacts("LocationContact", "contacts"),
        },
    },
}

_REFERENCES: dict[str, Any] = {
    "ReferenceList": {
        "to": "references",
        "item": "Reference",
        "fields": {"ReferencePMID": "pmid", "ReferenceType": "type", "ReferenceCitation": "citation"},
    },
    "SeeAlsoLinkList": {
        "to": "seeAlsoLinks",
        "item": "SeeAlsoLink",
        "fields": {"SeeAlsoLinkLabel": "label", "SeeAlsoLinkURL": "url"},
    },
}

_PROTOCOL: dict[str, Any] = {
    "IdentificationModule": {"to": "identificationModule", "fields": _IDENTIFICATION},
    "StatusModule": {"to": "statusModule", "fields": _STATUS},
    "SponsorCollaboratorsModule": {"to": "sponsorCollaboratorsModule", "fields": _SPONSORS},
    "DescriptionModule": {
        "to": "descriptionModule",
        "fields": {"BriefSummary": "briefSummary", "DetailedDescription": "detailedDescription"},
    },
    "ConditionsModule": {
        "to": "conditionsModule",
        "fields": {
            "ConditionList": {"to": "conditions", "item": "Condition"},
            "KeywordList": {"to": "keywords", "item": "Keyword"},
        },
    },
    "DesignModule": {"to": "designModule", "fields": _DESIGN},
    "ArmsInterventionsModule": {"to": "armsInterventionsModule", "fields": _ARMS},
    "OutcomesModule": {
        "to": "outcomesModule",
        "fields": {
            "PrimaryOutcomeList": _outcomes("Primary", "primary"),
            "SecondaryOutcomeList": _outcomes("Secondary", "secondary"),
            "OtherOutcomeList": _outcomes("Other", "other"),
        },
    },
    "EligibilityModule": {"to": "eligibilityModule", "fields": _ELIGIBILITY},
    "ContactsLocationsModule": {"to": "contactsLocationsModule", "fields": _CONTACTS},
    "ReferencesModule": {"to": "referencesModule", "fields": _REFERENCES},
}

# The study object. Results and documents are not mapped: v2's reader reports them by their presence.
RENAMES: dict[str, Any] = {
    "ProtocolSection": {"to": "protocolSection", "fields": _PROTOCOL},
    "DerivedSection": {
        "to": "derivedSection",
        "fields": {"ConditionBrowseModule": _meshes("Condition"), "InterventionBrowseModule": _meshes("Intervention")},
    },
    "ResultsSection": "resultsSection",
    "DocumentSection": "documentSection",
}
