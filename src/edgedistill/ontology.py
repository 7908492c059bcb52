"""The student's class list and the text prompts the teacher is asked with.

An ontology maps teacher prompts onto student classes. Each class has one or more
prompts (``police car``, ``police cruiser``, ``police SUV`` all label ``police car``),
an optional confidence of its own, and an optional parent: a class is a more
specific kind of its parent (``police car`` is a ``car``), and where both fire on
one object the specific one wins. ``class_mapping`` renames classes on output, for
apps that expect other names; two classes renamed to one name are merged.
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class OntologyClass(BaseModel):
    """One student class and the prompts that label it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    prompts: list[str] = Field(default_factory=list)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    parent: str | None = None

    @field_validator("name")
    @classmethod
    def _strip_name(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("must not be blank")
        return name

    @field_validator("prompts")
    @classmethod
    def _clean_prompts(cls, prompts: list[str]) -> list[str]:
        cleaned: list[str] = []
        for prompt in prompts:
            prompt = prompt.strip()
            if not prompt:
                raise ValueError("prompts must not be blank")
            if prompt.lower() not in (p.lower() for p in cleaned):
                cleaned.append(prompt)
        return cleaned

    @model_validator(mode="before")
    @classmethod
    def _default_prompt_is_name(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("prompts") and isinstance(data.get("name"), str):
            return {**data, "prompts": [data["name"]]}
        return data


class Ontology(BaseModel):
    """Student classes, their prompts and hierarchy, and output renames."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: list[OntologyClass] = Field(default_factory=list)
    class_mapping: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_consistency(self) -> Ontology:
        by_name: dict[str, OntologyClass] = {}
        for cls in self.classes:
            if cls.name.lower() in by_name:
                raise ValueError(f"class '{cls.name}' is listed twice")
            by_name[cls.name.lower()] = cls
        owner: dict[str, str] = {}
        for cls in self.classes:
            for prompt in cls.prompts:
                other = owner.setdefault(prompt.lower(), cls.name)
                if other != cls.name:
                    raise ValueError(
                        f"prompt '{prompt}' belongs to both '{other}' and '{cls.name}'; "
                        "a prompt may label one class only"
                    )
        for cls in self.classes:
            if cls.parent is not None and cls.parent.lower() not in by_name:
                raise ValueError(
                    f"class '{cls.name}' has parent '{cls.parent}', which is not a class"
                )
        for cls in self.classes:
            self._check_no_cycle(cls, by_name)
        for source, target in self.class_mapping.items():
            if source.lower() not in by_name:
                raise ValueError(f"class_mapping renames '{source}', which is not a class")
            if not target.strip():
                raise ValueError(f"class_mapping gives '{source}' a blank name")
        return self

    @staticmethod
    def _check_no_cycle(cls: OntologyClass, by_name: dict[str, OntologyClass]) -> None:
        seen = [cls.name]
        node = cls
        while node.parent is not None:
            node = by_name[node.parent.lower()]
            if node.name in seen:
                raise ValueError("parents form a cycle: " + " -> ".join([*seen, node.name]))
            seen.append(node.name)

    @property
    def names(self) -> list[str]:
        """Class names in config order."""
        return [cls.name for cls in self.classes]

    @property
    def prompts(self) -> list[str]:
        """Every prompt, in config order: what the teacher is asked."""
        return [prompt for cls in self.classes for prompt in cls.prompts]

    @property
    def student_names(self) -> list[str]:
        """Output class names after ``class_mapping``; merged names appear once."""
        names: list[str] = []
        for cls in self.classes:
            name = self.output_name(cls.name)
            if name not in names:
                names.append(name)
        return names

    def get(self, name: str) -> OntologyClass:
        """The class called ``name`` (case-insensitive); KeyError when there is none."""
        for cls in self.classes:
            if cls.name.lower() == name.strip().lower():
                return cls
        raise KeyError(name)

    def output_name(self, name: str) -> str:
        """The name class ``name`` carries in datasets and exported models."""
        cls = self.get(name)
        for source, target in self.class_mapping.items():
            if source.lower() == cls.name.lower():
                return target.strip()
        return cls.name

    def class_for_prompt(self, prompt: str) -> OntologyClass | None:
        """The class a prompt labels (case-insensitive), or None."""
        key = prompt.strip().lower()
        for cls in self.classes:
            if any(p.lower() == key for p in cls.prompts):
                return cls
        return None

    def match(self, label: str) -> OntologyClass | None:
        """The class an outside label means: a class name, a prompt or a renamed name."""
        key = label.strip().lower()
        for cls in self.classes:
            if cls.name.lower() == key or self.output_name(cls.name).lower() == key:
                return cls
        return self.class_for_prompt(label)

    def nearest_among(self, label: str, names: Collection[str]) -> str | None:
        """The output name among ``names`` of the class an outside label means, else of its
        nearest ancestor there (``police car`` is ``car`` where only cars are scored)."""
        cls = self.match(label)
        if cls is None:
            return None
        for candidate in (cls.name, *self.ancestors(cls.name)):
            if self.output_name(candidate) in names:
                return self.output_name(candidate)
        return None

    def ancestors(self, name: str) -> list[str]:
        """Parents of class ``name``, nearest first."""
        chain: list[str] = []
        node = self.get(name)
        while node.parent is not None:
            node = self.get(node.parent)
            chain.append(node.name)
        return chain

    def is_more_specific(self, name: str, other: str) -> bool:
        """True when ``name`` is a kind of ``other`` (``police car`` of ``car``)."""
        return self.get(other).name in self.ancestors(name)
